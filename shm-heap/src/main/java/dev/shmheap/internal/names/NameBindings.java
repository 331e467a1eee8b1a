package dev.shmheap.internal.names;

import dev.shmheap.internal.lock.HeapLocks;

import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * A writer's use of the {@link NameDirectory}: every call under the name-directory lock, so it
 * sees and changes the directory at one moment. Also the check that keeps a name from
 * outliving its block: a block with a name bound to it cannot be freed.
 */
public final class NameBindings {
    private final NameDirectory names;
    private final HeapLocks locks;
    private final String file;

    public NameBindings(NameDirectory names, HeapLocks locks, String file) {
        this.names = names;
        this.locks = locks;
        this.file = file;
    }

    /** Binds {@code name} to {@code offset}; the caller has shared the block (a bound block belongs to the heap). */
    public void bind(String name, long offset) {
        byte[] bytes = NameDirectory.encode(name);
        locks.inNames(() -> {
            names.bind(bytes, name, offset);
            return null;
        });
    }

    public OptionalLong lookup(String name) {
        byte[] bytes = NameDirectory.encode(name);
        return locks.inNames(() -> names.lookup(bytes));
    }

    /** Removes the binding of {@code name}; returns the offset it named, or throws naming the name and the heap. */
    public long unbind(String name) {
        byte[] bytes = NameDirectory.encode(name);
        return locks.inNames(() -> names.unbind(bytes))
                .orElseThrow(() -> new IllegalArgumentException("name '" + name + "' is not bound in heap " + file));
    }

    public Map<String, Long> entries() {
        return locks.inNames(names::entries);
    }

    /**
     * Refuses the free of the block at {@code offset} while a name is bound to it, naming the
     * binding: a lookup would otherwise hand out a block that may already be someone else's.
     * Called only for shared blocks (binding shares a block), so a free of an unshared block
     * never takes the name-directory lock.
     *
     * @throws IllegalStateException "block at offset O of heap F is bound to name 'N': unbind it before freeing it"
     */
    public void refuseFreeIfBound(long offset) {
        List<String> bound = entries().entrySet().stream().filter(e -> e.getValue() == offset).map(Map.Entry::getKey).toList();
        if (!bound.isEmpty()) {
            throw new IllegalStateException("block at offset " + offset + " of heap " + file + " is bound to name"
                    + (bound.size() == 1 ? " '" + bound.get(0) + "'" : "s " + bound) + ": unbind it before freeing it (ShmHeap.unbind)");
        }
    }
}
