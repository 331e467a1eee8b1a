package dev.shmheap.cli;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * The jar's Add-Opens/Add-Exports (properties in shm-heap-cli/pom.xml) must say what the
 * parent's shmheap.jvm.flags says, or `java -jar` breaks when a flag is added to one only.
 */
class ManifestFlagsTest {
    @Test
    void shouldMirrorTheParentsJvmFlags() {
        String flags = System.getProperty("shmheap.jvm.flags");
        assertNotNull(flags, "surefire passes shmheap.jvm.flags");
        assertEquals(manifestForm(flags, "--add-opens="), System.getProperty("shmheap.manifest.add-opens"));
        assertEquals(manifestForm(flags, "--add-exports="), System.getProperty("shmheap.manifest.add-exports"));
    }

    /** "--add-opens=java.base/java.lang=ALL-UNNAMED ..." to "java.base/java.lang ...". */
    static String manifestForm(String flags, String prefix) {
        List<String> pairs = new ArrayList<>();
        for (String flag : flags.trim().split("\\s+")) {
            if (flag.startsWith(prefix)) {
                String value = flag.substring(prefix.length());
                assertEquals("ALL-UNNAMED", value.substring(value.lastIndexOf('=') + 1), flag);
                pairs.add(value.substring(0, value.lastIndexOf('=')));
            }
        }
        return String.join(" ", pairs);
    }
}
