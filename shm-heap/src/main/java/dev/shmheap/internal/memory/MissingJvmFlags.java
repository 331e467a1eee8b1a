package dev.shmheap.internal.memory;

import dev.shmheap.JvmFlags;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Turns a failure of Chronicle Core's mapping into one clear error when its cause is the JVM's
 * missing {@code --add-opens}/{@code --add-exports}: each flag of
 * {@link JvmFlags#forJava17To21()} is checked against what the boot layer grants Chronicle
 * Core's module (the unnamed module on the class path, {@code chronicle.core} on the module path).
 */
final class MissingJvmFlags {
    static final String README_SECTION = "README.md, section \"Using it from your own project\"";
    private static final String ADD_OPENS = "--add-opens=";
    private static final String ADD_EXPORTS = "--add-exports=";

    private MissingJvmFlags() {
    }

    /**
     * The exception to throw for {@code failure}: an {@link IllegalStateException} naming the
     * missing flags (with the failure as its cause), or the failure itself if no flag is missing.
     */
    static RuntimeException explain(Throwable failure, Module chronicle) {
        List<String> missing = missing(chronicle);
        if (missing.isEmpty()) {
            if (failure instanceof RuntimeException runtime) {
                return runtime;
            }
            return new IllegalStateException("Chronicle Core could not map the heap: " + failure, failure);
        }
        return new IllegalStateException("cannot map the heap: this JVM (Java " + Runtime.version() + ") lacks "
                + (missing.size() == 1 ? "the flag " : missing.size() + " of the flags ") + "that Chronicle Core needs on Java 17-21: "
                + String.join(" ", missing) + ". Start the JVM with every flag of dev.shmheap.JvmFlags.required() ("
                + README_SECTION + "), or run on Java 22+, where the heap is mapped through the FFM API and needs none of them.",
                failure);
    }

    /** The flags of {@link JvmFlags#forJava17To21()} this JVM does not grant {@code chronicle}, in the form to add. */
    static List<String> missing(Module chronicle) {
        String target = chronicle.isNamed() ? chronicle.getName() : "ALL-UNNAMED";
        List<String> missing = new ArrayList<>();
        for (String flag : JvmFlags.forJava17To21()) {
            boolean opens = flag.startsWith(ADD_OPENS);
            if (!opens && !flag.startsWith(ADD_EXPORTS)) {
                continue;
            }
            // --add-opens=MODULE/PACKAGE=ALL-UNNAMED
            String[] parts = flag.substring(flag.indexOf('=') + 1).split("[/=]");
            Optional<Module> module = ModuleLayer.boot().findModule(parts[0]);
            if (module.isEmpty()) {
                continue;
            }
            boolean granted = opens ? module.get().isOpen(parts[1], chronicle) : module.get().isExported(parts[1], chronicle);
            if (!granted) {
                missing.add((opens ? ADD_OPENS : ADD_EXPORTS) + parts[0] + "/" + parts[1] + "=" + target);
            }
        }
        return missing;
    }
}
