package dev.shmheap.internal.observe;

import dev.shmheap.HeapBusyException;
import dev.shmheap.internal.layout.HeaderDescriptor;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.lock.HeapLocks;
import dev.shmheap.internal.process.ProcessTokens;
import dev.shmheap.internal.memory.MappedMemory;
import dev.shmheap.internal.verify.HeapVerifier;
import dev.shmheap.internal.wait.SpinYieldPark;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Reads that take no lock and write no byte, yet see the heap at one moment: what a read-only
 * observer ({@code HeapObserver}) uses for {@code verify}, {@code names} and pictures.
 *
 * <p>The check is optimistic, like a seqlock whose sequence words are the heap's own lock words
 * and counters (no word is added to the hot path):
 * <pre>
 *   1. L1 := every lock word;        no live process may hold one (a dead holder is allowed:
 *                                     it never moves again, and verify reports it)
 *   2. F1 := header words 256..4095 and the name directory
 *   3. L1 == every lock word again   an operation that began between 1 and 3 is seen here
 *   4. run the reader (a walk)
 *   5. L2 := every lock word;  F2 := the same words as F1
 *   6. accept iff L2 == L1 and F2 == F1
 * </pre>
 * Why this proves that no operation overlapped step 4: every change of allocator state happens
 * inside a locked section that also changes a header counter to a value it never had before
 * (allocations and frees only grow) or changes the name directory. A section that began after
 * step 3 and ended before step 5 made its counter change visible before its release, which
 * step 5 reads, so F2 != F1; one still running at step 5 shows in L2. A section running at
 * step 1 or 3 is refused there. A name bound and unbound again within the walk leaves no trace
 * (an ABA), so a result with problems is accepted only when two accepted walks in a row agree:
 * a problem is never reported on the strength of one walk that may have been torn.
 *
 * <p>Invariant for whoever changes the allocator: a change of page-map or list state outside a
 * locked section that moves a fingerprinted word would make this optimistic read unsound.
 */
public final class ConsistentReads {
    /** Longest pause: a waiting observer notices a released lock within 10 ms, and costs nothing meanwhile. */
    private static final long MAX_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    /** How often a long wait says why it waits, as the lock waits do. */
    private static final long REPORT_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final System.Logger LOG = System.getLogger(ConsistentReads.class.getName());
    /** Header bytes 0..255 are the checksummed layout: they never change, so they need no second look. */
    private static final int FIRST_MUTABLE_HEADER_BYTE = 256;

    private final MappedMemory memory;
    private final HeapLayout layout;
    private final String file;
    private final long[] lockOffsets;
    private final String[] lockNames;

    public ConsistentReads(MappedMemory memory, HeapLayout layout, String file) {
        this.memory = memory;
        this.layout = layout;
        this.file = file;
        List<Long> offsets = new ArrayList<>();
        List<String> names = new ArrayList<>();
        HeapLocks.forEach(layout.classStripes(), (offset, name) -> {
            offsets.add(offset);
            names.add(name);
        });
        this.lockOffsets = offsets.stream().mapToLong(Long::longValue).toArray();
        this.lockNames = names.toArray(new String[0]);
    }

    /** What {@link #read} returns: the value, and how many attempts it took. */
    public record Outcome<T>(T value, int attempts) {
    }

    /**
     * Runs {@code reader} until one run saw a snapshot no operation touched (see the class
     * comment), waiting for live lock holders; {@code sameResult} says whether two results agree
     * (used when {@code needsConfirmation} says a result must be seen twice).
     *
     * @throws HeapBusyException when {@code timeoutNanos} pass first, naming the live lock
     *                           holder or how often the heap changed under the walk
     */
    public <T> Outcome<T> read(Supplier<T> reader, Predicate<T> needsConfirmation, long timeoutNanos) {
        // no spinning: an attempt is a walk, so the pauses between walks start at once
        SpinYieldPark backoff = SpinYieldPark.of(timeoutNanos, 0, 0, MAX_PAUSE_NANOS);
        long nextReport = REPORT_NANOS;
        int attempts = 0;
        int changed = 0;
        String busy = null;
        T unconfirmed = null;
        boolean haveUnconfirmed = false;
        for (;;) {
            attempts++;
            Attempt<T> attempt = attempt(reader);
            if (attempt.liveHolder != null) {
                busy = attempt.liveHolder;
                haveUnconfirmed = false;
            } else if (!attempt.consistent) {
                changed++;
                busy = null; // say what stopped the latest attempt
                haveUnconfirmed = false;
            } else if (attempt.failure != null) {
                throw attempt.failure; // a consistent snapshot that cannot be read: the failure is real
            } else if (!needsConfirmation.test(attempt.value) || (haveUnconfirmed && Objects.equals(unconfirmed, attempt.value))) {
                return new Outcome<>(attempt.value, attempts);
            } else {
                unconfirmed = attempt.value;
                haveUnconfirmed = true;
                continue; // confirm at once, without a pause
            }
            String why = busy != null ? "the " + busy : "it changed during each of " + changed + " walks";
            if (backoff.elapsedNanos() >= nextReport) {
                nextReport += REPORT_NANOS;
                LOG.log(System.Logger.Level.WARNING, "waiting " + TimeUnit.NANOSECONDS.toSeconds(backoff.elapsedNanos())
                        + " s for a consistent look at " + file + ": " + why);
            }
            if (!backoff.idle()) {
                throw new HeapBusyException(file + ": no consistent look at the heap within " + TimeUnit.NANOSECONDS.toMillis(backoff.elapsedNanos())
                        + " ms: " + why + " (this observer takes no lock and waits for operations in flight)");
            }
        }
    }

    private static final class Attempt<T> {
        String liveHolder;
        boolean consistent;
        T value;
        RuntimeException failure;
    }

    private <T> Attempt<T> attempt(Supplier<T> reader) {
        Attempt<T> attempt = new Attempt<>();
        long[] locks = lockWords();
        attempt.liveHolder = liveHolder(locks);
        if (attempt.liveHolder != null) {
            return attempt;
        }
        long[] before = fingerprint();
        if (!Arrays.equals(locks, lockWords())) {
            return attempt; // an operation began meanwhile: not consistent
        }
        try {
            attempt.value = reader.get();
        } catch (RuntimeException e) {
            attempt.failure = e; // a torn read can meet a link that leads nowhere: judged below
        }
        attempt.consistent = Arrays.equals(locks, lockWords()) && Arrays.equals(before, fingerprint());
        return attempt;
    }

    private long[] lockWords() {
        long[] words = new long[lockOffsets.length];
        for (int i = 0; i < words.length; i++) {
            words[i] = memory.getLongVolatile(lockOffsets[i]);
        }
        return words;
    }

    /** "buddy lock is held by live pid ..." for the first lock a live process holds, else null. */
    private String liveHolder(long[] words) {
        for (int i = 0; i < words.length; i++) {
            if (words[i] != 0 && ProcessTokens.isAlive(words[i])) {
                return lockNames[i] + " is held by live " + ProcessTokens.describe(words[i]);
            }
        }
        return null;
    }

    private long[] fingerprint() {
        int headerWords = (HeaderDescriptor.HEADER_LENGTH - FIRST_MUTABLE_HEADER_BYTE) / Long.BYTES;
        int nameWords = HeapLayout.NAME_DIRECTORY_LENGTH / Long.BYTES;
        long[] words = new long[headerWords + nameWords];
        for (int i = 0; i < headerWords; i++) {
            words[i] = memory.getLongVolatile(FIRST_MUTABLE_HEADER_BYTE + (long) i * Long.BYTES);
        }
        long names = layout.nameDirectoryOffset();
        for (int i = 0; i < nameWords; i++) {
            words[headerWords + i] = memory.getLongVolatile(names + (long) i * Long.BYTES);
        }
        return words;
    }
}
