package dev.shmheap;

import dev.shmheap.internal.layout.HeaderDescriptor;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.layout.SizeClasses;
import dev.shmheap.internal.lock.SpinLock;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Flips every bit of the 4096-byte header page of a heap with live blocks, one at a time and
 * directly in the file, and checks that each flip gives a clear error and corrupts nothing:
 * either {@code open} refuses with a {@link HeapFormatException} naming the file, or the heap
 * opens, {@code verify()} reports what matters, operations fail only with the library's
 * documented exception types, and the live blocks keep their bytes.
 *
 * <p>The sweep runs once (in {@link #sweep()}) and records one {@link Flip} per bit; each test
 * method asserts one property over the records of one kind of header field.
 */
class HeaderBitFlipTest {
    private static final long CAPACITY = 1 << 20;
    /** 1: a 1 MiB heap's second stripe blocks are padding. */
    private static final int STRIPES = HeapLayout.forCapacity(CAPACITY, false).classStripes();
    /** Live blocks: every slab class and a few buddy orders. */
    private static final long[] LIVE_SIZES = {8, 64, 100, 128, 200, 500, 1000, 2000, 4000, 4096, 5000, 9000, 20000, 70000};
    /** What each opened heap is asked to allocate (and free again) after verify. */
    private static final long[] OP_SIZES = {8, 100, 200, 500, 1000, 2000, 4000, 5000, 20000};
    private static final int HEADER_BITS = HeaderDescriptor.HEADER_LENGTH * 8;
    private static final int SAMPLE = 64;

    /**
     * Padding bits, three quarters of the header, are flipped last and only while the sweep is
     * within this budget, so that a heavily loaded machine cannot push the class past a minute;
     * on an idle 2-core machine all 32768 bits take well under it.
     */
    private static final String BUDGET_PROPERTY = "shmheap.bitflip.budgetSeconds";
    private static final long BUDGET_NANOS = TimeUnit.SECONDS.toNanos(Long.getLong(BUDGET_PROPERTY, 120));

    private static Path path;
    private static final List<Flip> FLIPS = new ArrayList<>(HEADER_BITS);
    private static final List<String> RESTORE_PROBLEMS = new ArrayList<>();
    /** Held so that the logger's level is not lost to garbage collection during the sweep. */
    private static Logger spinLockLogger;

    /** What happened to one bit flip. */
    private static final class Flip {
        final int bit;
        final Kind kind;
        String openError;
        boolean opened;
        boolean skipped;
        VerifyReport verifyBefore;
        VerifyReport verifyAfter;
        boolean patternsIntact = true;
        long nanos;
        final List<String> allowedErrors = new ArrayList<>();
        final List<String> unexpected = new ArrayList<>();

        Flip(int bit) {
            this.bit = bit;
            this.kind = kindAt(bit / 8);
        }

        int byteOffset() {
            return bit / 8;
        }

        @Override
        public String toString() {
            return "bit " + bit + " (byte " + byteOffset() + " bit " + bit % 8 + ", " + wordName(byteOffset()) + ")";
        }
    }

    @BeforeAll
    static void sweep() throws IOException {
        spinLockLogger = Logger.getLogger(SpinLock.class.getName());
        spinLockLogger.setLevel(Level.SEVERE); // takeovers are expected here, hundreds of them
        path = TestHeaps.newPath("bitflip");
        try {
            long[] live;
            byte[][] patterns;
            try (ShmHeap heap = ShmHeap.create(path, CAPACITY)) {
                live = new long[LIVE_SIZES.length];
                patterns = new byte[LIVE_SIZES.length][];
                for (int i = 0; i < LIVE_SIZES.length; i++) {
                    live[i] = heap.allocate(LIVE_SIZES[i]);
                    patterns[i] = pattern(live[i], (int) LIVE_SIZES[i]);
                    heap.putBytes(live[i], patterns[i], 0, patterns[i].length);
                }
                // A freed slab block and a freed buddy block make the free lists less trivial.
                heap.free(heap.allocate(64));
                heap.free(heap.allocate(6000));
                VerifyReport pristine = heap.verify();
                assertTrue(pristine.ok(), pristine.toString());
            }
            HeapLayout layout = HeapLayout.forCapacity(CAPACITY, false);
            int metadataLength = Math.toIntExact(layout.pageMapOffset() + layout.pageMapLength());
            try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                byte[] metadata = new byte[metadataLength];
                readFully(channel, metadata, 0);
                long start = System.nanoTime();
                long deadline = BUDGET_NANOS > 0 ? start + BUDGET_NANOS : Long.MAX_VALUE;
                for (int bit : sweepOrder()) {
                    Flip flip = new Flip(bit);
                    if (flip.kind == Kind.PADDING && System.nanoTime() - deadline > 0) {
                        break;
                    }
                    FLIPS.add(flip);
                    byte original = metadata[flip.byteOffset()];
                    writeFully(channel, new byte[] {(byte) (original ^ (1 << (bit % 8)))}, flip.byteOffset());
                    long flipStart = System.nanoTime();
                    boolean changedMore = runOne(flip, metadata, live, patterns);
                    flip.nanos = System.nanoTime() - flipStart;
                    if (changedMore) {
                        writeFully(channel, metadata, 0);
                    } else {
                        writeFully(channel, new byte[] {original}, flip.byteOffset());
                    }
                }
                long elapsed = System.nanoTime() - start;
                long padding = FLIPS.stream().filter(f -> f.kind == Kind.PADDING).count();
                long allPadding = IntStream.range(0, HEADER_BITS).filter(b -> kindAt(b / 8) == Kind.PADDING).count();
                System.out.printf("HeaderBitFlipTest: %d of %d flips in %.1f s (%.0f us/flip), %d opened, %d refused at open%s%n",
                        FLIPS.size(), HEADER_BITS, elapsed / 1e9, elapsed / 1e3 / FLIPS.size(), FLIPS.stream().filter(f -> f.opened).count(),
                        FLIPS.stream().filter(f -> f.openError != null).count(),
                        padding == allPadding ? "" : "; TIME BUDGET of " + BUDGET_NANOS / 1_000_000_000 + " s reached: only " + padding
                                + " of " + allPadding + " padding bits flipped (-D" + BUDGET_PROPERTY + "=0 for all)");
                for (Kind kind : Kind.values()) {
                    List<Flip> ofKind = FLIPS.stream().filter(f -> f.kind == kind).toList();
                    long nanos = ofKind.stream().mapToLong(f -> f.nanos).sum();
                    System.out.printf("  %-14s %5d flips, %5.1f s, %5.0f us/flip%n", kind, ofKind.size(), nanos / 1e9,
                            ofKind.isEmpty() ? 0 : nanos / 1e3 / ofKind.size());
                }
            }
            // After the last restore the heap must be exactly as it was.
            try (ShmHeap heap = ShmHeap.open(path)) {
                VerifyReport report = heap.verify();
                if (!report.ok()) {
                    RESTORE_PROBLEMS.add("restored heap does not verify: " + report);
                }
                for (int i = 0; i < live.length; i++) {
                    if (!Arrays.equals(read(heap, live[i], patterns[i].length), patterns[i])) {
                        RESTORE_PROBLEMS.add("live block at offset " + live[i] + " lost its pattern");
                    }
                    heap.free(live[i]);
                }
                report = heap.verify();
                if (!report.ok() || heap.stats().usedBytes() != 0) {
                    RESTORE_PROBLEMS.add("after freeing the live blocks: " + report + " " + heap.stats());
                }
            }
        } finally {
            TestHeaps.delete(path);
        }
    }

    @AfterAll
    static void restoreLogging() {
        if (spinLockLogger != null) {
            spinLockLogger.setLevel(null);
        }
    }

    /**
     * Every header bit once: first all bits of fields that carry meaning, in address order,
     * then the padding bits, bit 0 of every padding byte first, then bit 1, and so on, so that
     * a sweep cut short by the time budget still touches every padding byte.
     */
    private static int[] sweepOrder() {
        IntStream meaningful = IntStream.range(0, HEADER_BITS).filter(b -> kindAt(b / 8) != Kind.PADDING);
        IntStream padding = IntStream.range(0, HEADER_BITS)
                .map(i -> (i % HeaderDescriptor.HEADER_LENGTH) * 8 + i / HeaderDescriptor.HEADER_LENGTH)
                .filter(b -> kindAt(b / 8) == Kind.PADDING);
        return IntStream.concat(meaningful, padding).toArray();
    }

    /**
     * Opens the heap with one flipped header bit and exercises it. Returns true when the file
     * may have changed beyond the flipped byte (the heap was opened).
     */
    private static boolean runOne(Flip flip, byte[] pristine, long[] live, byte[][] patterns) {
        if (flip.kind == Kind.LOCK) {
            long word = ByteBuffer.wrap(pristine).order(ByteOrder.LITTLE_ENDIAN).getLong(flip.byteOffset() & ~7);
            long flipped = word ^ (1L << ((flip.byteOffset() & 7) * 8 + flip.bit % 8));
            if (ProcessIdentity.isAlive(flipped)) {
                // A live process would be waited for forever, rightly; nothing to test here.
                flip.skipped = true;
                return false;
            }
        }
        ShmHeap heap;
        try {
            heap = ShmHeap.open(path);
        } catch (HeapFormatException e) {
            flip.openError = String.valueOf(e.getMessage());
            return false;
        } catch (Throwable t) {
            flip.unexpected.add("open: " + describe(t));
            return true;
        }
        flip.opened = true;
        try {
            attempt(flip, "verify() before operations", () -> flip.verifyBefore = heap.verify());
            List<Long> mine = new ArrayList<>();
            for (long size : OP_SIZES) {
                attempt(flip, "allocate(" + size + ")", () -> mine.add(heap.allocate(size)));
            }
            for (long offset : mine) {
                attempt(flip, "free(" + offset + ")", () -> heap.free(offset));
            }
            attempt(flip, "stats()", heap::stats);
            attempt(flip, "names()", heap::names);
            boolean fullCheck = flip.kind == Kind.PADDING || flip.kind == Kind.LOCK || flip.kind == Kind.LIFETIME_COUNTER
                    || flip.kind == Kind.QUOTA;
            for (int i = 0; i < live.length; i++) {
                int index = i;
                attempt(flip, "usableSize(" + live[i] + ")", () -> heap.usableSize(live[index]));
                attempt(flip, "pattern check of " + live[i], () -> {
                    if (!patternIntact(heap, live[index], patterns[index], fullCheck)) {
                        flip.patternsIntact = false;
                    }
                });
            }
            if (fullCheck) {
                // Only these flips promise a healthy heap after the operations.
                attempt(flip, "verify() after operations", () -> flip.verifyAfter = heap.verify());
            }
        } finally {
            attempt(flip, "close()", heap::close);
        }
        return true;
    }

    private interface Action {
        void run() throws Exception;
    }

    private static void attempt(Flip flip, String what, Action action) {
        try {
            action.run();
        } catch (Throwable t) {
            if (isDocumented(t)) {
                flip.allowedErrors.add(what + ": " + t);
            } else {
                flip.unexpected.add(what + ": " + describe(t));
            }
        }
    }

    private static boolean isDocumented(Throwable t) {
        return t instanceof ShmHeapException || t instanceof IllegalArgumentException || t instanceof IllegalStateException
                || t instanceof IndexOutOfBoundsException;
    }

    private static String describe(Throwable t) {
        StackTraceElement[] trace = t.getStackTrace();
        return t + (trace.length > 0 ? " at " + trace[0] : "");
    }

    /** The kinds of header field, from the offsets in {@link HeaderDescriptor}. */
    enum Kind {
        IMMUTABLE, LOCK, BUDDY_COUNTER, FREE_LIST_HEAD, CLASS_STATE, FREE_COUNT, LIFETIME_COUNTER, QUOTA, PADDING;

        /** The kind {@link HeaderDescriptor#fieldAt} means by {@code name}. */
        static Kind named(String name) {
            if (name.equals("immutable header field") || name.equals("header checksum")) {
                return IMMUTABLE;
            }
            if (name.equals("buddy lock") || name.startsWith("lock of class ") || name.equals("name-directory lock")) {
                return LOCK;
            }
            if (name.equals("buddy counter")) {
                return BUDDY_COUNTER;
            }
            if (name.startsWith("free-list head of order ")) {
                return FREE_LIST_HEAD;
            }
            if (name.startsWith("state of class ")) {
                return CLASS_STATE;
            }
            if (name.startsWith("free-block count of order ")) {
                return FREE_COUNT;
            }
            if (name.equals("lifetime counter")) {
                return LIFETIME_COUNTER;
            }
            if (name.equals("per-process quota")) {
                return QUOTA;
            }
            if (name.equals("padding")) {
                return PADDING;
            }
            throw new IllegalArgumentException("unknown field name " + name);
        }
    }

    /** What the header byte at {@code offset} is in this test's heap, whose classes have {@link #STRIPES} stripes. */
    static Kind kindAt(int offset) {
        return kindAt(offset, STRIPES);
    }

    /** What the header byte at {@code offset} is in a heap whose classes have {@code stripes} stripes. */
    static Kind kindAt(int offset, int stripes) {
        if (offset < HeaderDescriptor.CHECKSUM_OFFSET + 8) {
            return Kind.IMMUTABLE;
        }
        if (within(offset, HeaderDescriptor.BUDDY_LOCK_OFFSET, 8) || within(offset, HeaderDescriptor.NAME_DIRECTORY_LOCK_OFFSET, 8)) {
            return Kind.LOCK;
        }
        if (within(offset, HeaderDescriptor.BUDDY_STATE_OFFSET, HeaderDescriptor.BUDDY_STATE_LENGTH)) {
            return Kind.BUDDY_COUNTER;
        }
        if (within(offset, HeaderDescriptor.FREE_LIST_HEADS_OFFSET, HeaderDescriptor.ORDER_COUNT * 8)) {
            return Kind.FREE_LIST_HEAD;
        }
        if (within(offset, HeaderDescriptor.FREE_COUNTS_OFFSET, HeaderDescriptor.ORDER_COUNT * 8)) {
            return Kind.FREE_COUNT;
        }
        if (within(offset, HeaderDescriptor.LOCK_TAKEOVERS_OFFSET, HeaderDescriptor.PROCESS_QUOTA_OFFSET - HeaderDescriptor.LOCK_TAKEOVERS_OFFSET)) {
            return Kind.LIFETIME_COUNTER;
        }
        if (within(offset, HeaderDescriptor.PROCESS_QUOTA_OFFSET, 16)) {
            return Kind.QUOTA;
        }
        for (int c = 0; c < SizeClasses.COUNT; c++) {
            for (int s = 0; s < stripes; s++) {
                if (within(offset, HeaderDescriptor.classOffset(c, s, HeaderDescriptor.CLASS_LOCK), 8)) {
                    return Kind.LOCK;
                }
                int state = HeaderDescriptor.classOffset(c, s, HeaderDescriptor.CLASS_PARTIAL_HEAD);
                if (within(offset, state, HeaderDescriptor.CLASS_FREES + 8 - HeaderDescriptor.CLASS_PARTIAL_HEAD)) {
                    return Kind.CLASS_STATE;
                }
            }
        }
        return Kind.PADDING;
    }

    private static boolean within(int offset, int start, int length) {
        return offset >= start && offset < start + length;
    }

    /** A precise name of the 64-bit header word holding {@code offset}, for failure messages. */
    static String wordName(int offset) {
        int word = offset & ~7;
        String[] buddyState = {"buddy free bytes", "buddy allocated bytes", "buddy allocations", "buddy frees", "buddy slab-set bytes", "buddy mergeable pairs"};
        String[] classState = {"partial-set head", "set count", "used blocks", "allocations", "frees"};
        if (within(word, HeaderDescriptor.BUDDY_STATE_OFFSET, buddyState.length * 8)) {
            return buddyState[(word - HeaderDescriptor.BUDDY_STATE_OFFSET) / 8] + " (word at " + word + ")";
        }
        for (int c = 0; c < SizeClasses.COUNT; c++) {
            for (int s = 0; s < STRIPES; s++) {
                int state = HeaderDescriptor.classOffset(c, s, HeaderDescriptor.CLASS_PARTIAL_HEAD);
                if (within(word, state, classState.length * 8)) {
                    return classState[(word - state) / 8] + " of class " + SizeClasses.blockSize(c) + " stripe " + s
                            + " (word at " + word + ")";
                }
            }
        }
        return HeaderDescriptor.fieldAt(offset) + " (word at " + word + ")";
    }

    // ---- the properties ----

    @Test
    void shouldNameEveryHeaderByteAfterItsField() {
        List<String> bad = new ArrayList<>();
        for (int offset = 0; offset < HeaderDescriptor.HEADER_LENGTH; offset++) {
            String name = HeaderDescriptor.fieldAt(offset);
            Kind named = Kind.named(name);
            // fieldAt names the fields of every stripe, whether or not a heap uses it
            Kind kind = kindAt(offset, HeaderDescriptor.CLASS_STRIPES);
            if (named != kind) {
                bad.add("fieldAt(" + offset + ") = \"" + name + "\", but the byte belongs to a " + kind + " field");
            }
        }
        assertTrue(bad.isEmpty(), bad.size() + " header bytes are misnamed by HeaderDescriptor.fieldAt:\n" + summarize(bad));
    }

    @Test
    void shouldNeverThrowUndocumentedExceptions() {
        assertNone(f -> !f.unexpected.isEmpty(), f -> String.join("; ", f.unexpected),
                "flips led to exceptions other than HeapFormatException at open or ShmHeapException/IllegalArgumentException/"
                        + "IllegalStateException/IndexOutOfBoundsException later");
    }

    @Test
    void shouldNameTheFileInEveryRefusal() {
        assertNone(f -> f.openError != null && (f.openError.isBlank() || !f.openError.contains(path.toString())), f -> f.openError,
                "HeapFormatException messages do not name the file");
    }

    @Test
    void shouldRefuseImmutableAndChecksumFlipsAtOpenNamingTheFile() {
        List<Flip> immutable = select(f -> f.kind == Kind.IMMUTABLE);
        assertEquals((HeaderDescriptor.CHECKSUM_OFFSET + 8) * 8, immutable.size());
        List<String> bad = new ArrayList<>();
        for (Flip f : immutable) {
            if (f.openError == null) {
                bad.add(f + ": opened");
            } else if (f.openError.isBlank() || !f.openError.contains(path.toString())) {
                bad.add(f + ": message does not name the file: " + f.openError);
            } else {
                String expected = f.byteOffset() < HeaderDescriptor.FORMAT_VERSION_OFFSET ? "not a shm-heap file"
                        : f.byteOffset() < HeaderDescriptor.HEADER_LENGTH_OFFSET ? "version" : "checksum";
                if (!f.openError.contains(expected)) {
                    bad.add(f + ": message does not say '" + expected + "': " + f.openError);
                }
            }
        }
        assertTrue(bad.isEmpty(), bad.size() + " immutable-field flips were not refused clearly:\n" + summarize(bad));
    }

    @Test
    void shouldReportFreeListHeadFlipsInVerify() {
        assertVerifyReports(Kind.FREE_LIST_HEAD);
    }

    @Test
    void shouldReportFreeBlockCountFlipsInVerify() {
        assertVerifyReports(Kind.FREE_COUNT);
    }

    @Test
    void shouldReportBuddyCounterFlipsInVerify() {
        assertVerifyReports(Kind.BUDDY_COUNTER);
    }

    @Test
    void shouldReportClassStateFlipsInVerify() {
        assertVerifyReports(Kind.CLASS_STATE);
    }

    /** The lifetime counters (takeovers, reclaimed blocks and bytes) are figures only: a flip changes nothing else. */
    @Test
    void shouldIgnoreLifetimeCounterFlips() {
        assertHealthyAfterFlipsOf(Kind.LIFETIME_COUNTER, error -> false, "lifetime-counter flips mattered");
    }

    /** A flipped quota (or quota generation) is a (strange) quota: requests beyond it are refused naming it, nothing else changes. */
    @Test
    void shouldOnlyEnforceAFlippedQuota() {
        assertHealthyAfterFlipsOf(Kind.QUOTA, error -> error.contains("per-process quota"), "quota flips did more than limit requests");
    }

    /** Every flip of {@code kind} opened, verified before and after, and failed operations only with {@code allowed} errors. */
    private static void assertHealthyAfterFlipsOf(Kind kind, Predicate<String> allowed, String what) {
        List<Flip> flips = select(f -> f.kind == kind);
        assertFalse(flips.isEmpty());
        List<String> bad = new ArrayList<>();
        for (Flip f : flips) {
            if (!f.opened || f.verifyBefore == null || !f.verifyBefore.ok() || f.verifyAfter == null || !f.verifyAfter.ok()
                    || !f.allowedErrors.stream().allMatch(allowed)) {
                bad.add(f + ": " + f.openError + " " + f.verifyBefore + " " + f.allowedErrors + " " + f.verifyAfter);
            }
        }
        assertTrue(bad.isEmpty(), bad.size() + " of " + flips.size() + " " + what + ":\n" + summarize(bad));
    }

    @Test
    void shouldIgnorePaddingFlips() {
        List<Flip> padding = select(f -> f.kind == Kind.PADDING);
        assertFalse(padding.isEmpty());
        List<String> bad = new ArrayList<>();
        for (Flip f : padding) {
            if (!f.opened) {
                bad.add(f + ": not opened: " + f.openError);
            } else if (f.verifyBefore == null || !f.verifyBefore.ok()) {
                bad.add(f + ": verify before operations: " + f.verifyBefore);
            } else if (!f.allowedErrors.isEmpty()) {
                bad.add(f + ": operations failed: " + f.allowedErrors);
            } else if (f.verifyAfter == null || !f.verifyAfter.ok()) {
                bad.add(f + ": verify after operations: " + f.verifyAfter);
            }
        }
        assertTrue(bad.isEmpty(), bad.size() + " of " + padding.size() + " padding flips mattered:\n" + summarize(bad));
    }

    @Test
    void shouldTakeOverFlippedLockWords() {
        List<Flip> locks = select(f -> f.kind == Kind.LOCK);
        assertEquals((2 + SizeClasses.COUNT) * 64, locks.size(), "buddy, name-directory and class locks");
        long skipped = locks.stream().filter(f -> f.skipped).count();
        assertTrue(skipped < 8, skipped + " lock flips named a live process");
        List<String> bad = new ArrayList<>();
        for (Flip f : locks) {
            if (f.skipped) {
                continue;
            }
            if (!f.opened) {
                bad.add(f + ": not opened: " + f.openError);
            } else if (!f.allowedErrors.isEmpty()) {
                bad.add(f + ": operations did not complete: " + f.allowedErrors);
            } else if (f.verifyBefore == null || f.verifyBefore.ok() || !f.verifyBefore.problems().toString().contains("dead")) {
                bad.add(f + ": verify before the takeover should report the lock held by a dead process: " + f.verifyBefore);
            } else if (f.verifyAfter == null || !f.verifyAfter.ok()) {
                bad.add(f + ": verify after the takeover: " + f.verifyAfter);
            }
        }
        assertTrue(bad.isEmpty(), bad.size() + " lock flips were not survived:\n" + summarize(bad));
    }

    @Test
    void shouldKeepLiveBlocksIntactWhateverTheFlip() {
        assertNone(f -> f.opened && !f.patternsIntact, f -> "pattern changed", "flips changed the bytes of live blocks");
    }

    @Test
    void shouldRestoreToAHealthyHeap() {
        assertEquals(HEADER_BITS, FLIPS.stream().mapToInt(f -> f.bit).distinct().count() + paddingBitsNotFlipped());
        assertTrue(RESTORE_PROBLEMS.isEmpty(), String.join("\n", RESTORE_PROBLEMS));
    }

    // ---- helpers ----

    /** Every flip of a field of {@code kind} must be refused at open or make verify() report a problem. */
    private static void assertVerifyReports(Kind kind) {
        List<Flip> selected = select(f -> f.kind == kind);
        assertFalse(selected.isEmpty());
        List<String> bad = new ArrayList<>();
        Map<String, Integer> missedByWord = new LinkedHashMap<>();
        for (Flip f : selected) {
            if (f.openError != null) {
                continue; // refusing at open is a clear error too
            }
            if (f.verifyBefore == null) {
                bad.add(f + ": verify() threw instead of reporting: " + f.allowedErrors);
            } else if (f.verifyBefore.ok()) {
                missedByWord.merge(wordName(f.byteOffset()), 1, Integer::sum);
            }
        }
        missedByWord.forEach((word, bits) -> bad.add(word + ": " + bits + " of 64 bit flips not reported by verify()"));
        assertTrue(bad.isEmpty(), "flips of " + kind + " fields went unnoticed:\n" + summarize(bad));
    }

    private static long paddingBitsNotFlipped() {
        return IntStream.range(0, HEADER_BITS).filter(b -> kindAt(b / 8) == Kind.PADDING).count()
                - FLIPS.stream().filter(f -> f.kind == Kind.PADDING).count();
    }

    private static List<Flip> select(Predicate<Flip> predicate) {
        assertEquals(HEADER_BITS, FLIPS.size() + paddingBitsNotFlipped(), "the sweep did not complete");
        return FLIPS.stream().filter(predicate).toList();
    }

    private static void assertNone(Predicate<Flip> failed, java.util.function.Function<Flip, String> detail, String what) {
        List<String> bad = select(failed).stream().map(f -> f + ": " + detail.apply(f)).toList();
        assertTrue(bad.isEmpty(), bad.size() + " " + what + ":\n" + summarize(bad));
    }

    private static String summarize(List<String> lines) {
        int shown = Math.min(lines.size(), 40);
        return String.join("\n", lines.subList(0, shown)) + (shown < lines.size() ? "\n... and " + (lines.size() - shown) + " more" : "");
    }

    private static byte[] pattern(long offset, int length) {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) {
            bytes[i] = (byte) (offset * 31 + i * 7 + (i >>> 8));
        }
        return bytes;
    }

    /**
     * Compares the block with its pattern: all of it, or (to keep 32768 flips fast) its first
     * and last {@link #SAMPLE} bytes; the check after the sweep compares every byte again, and
     * since the sweep never restores the data region, it sees any write of any flip.
     */
    private static boolean patternIntact(ShmHeap heap, long offset, byte[] pattern, boolean full) {
        if (full || pattern.length <= 2 * SAMPLE) {
            return Arrays.equals(read(heap, offset, pattern.length), pattern);
        }
        int tail = pattern.length - SAMPLE;
        return Arrays.equals(read(heap, offset, SAMPLE), 0, SAMPLE, pattern, 0, SAMPLE)
                && Arrays.equals(read(heap, offset + tail, SAMPLE), 0, SAMPLE, pattern, tail, pattern.length);
    }

    private static byte[] read(ShmHeap heap, long offset, int length) {
        byte[] bytes = new byte[length];
        heap.getBytes(offset, bytes, 0, length);
        return bytes;
    }

    private static void readFully(FileChannel channel, byte[] into, long position) throws IOException {
        ByteBuffer buffer = ByteBuffer.wrap(into);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, position + buffer.position()) < 0) {
                throw new IOException("unexpected end of " + path);
            }
        }
    }

    private static void writeFully(FileChannel channel, byte[] from, long position) throws IOException {
        ByteBuffer buffer = ByteBuffer.wrap(from);
        while (buffer.hasRemaining()) {
            channel.write(buffer, position + buffer.position());
        }
    }
}
