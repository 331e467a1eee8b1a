package dev.shmheap;

import dev.shmheap.internal.memory.MemoryLayer;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@link HeapBlock}: block-relative accessors checked against the block, native byte order, the
 * atomics, copy and fill between blocks, its lifetime, and the MemorySegment and Agrona views.
 */
class HeapBlockTest {
    private static final long CAPACITY = 1 << 20;
    private static final int BLOCK = 128;
    /** A neighbour's bytes before the test: a check that fails must not have written anything. */
    private static final long NEIGHBOUR_PATTERN = 0x5A5A_5A5A_5A5A_5A5AL;

    private final List<Path> files = new ArrayList<>();
    private ShmHeap heap;
    private HeapBlock block;
    private long neighbour;

    @BeforeEach
    void createHeap() throws IOException {
        heap = ShmHeap.create(newPath(), CAPACITY);
        block = heap.block(heap.allocate(BLOCK), BLOCK);
        neighbour = heap.allocate(BLOCK);
        assertEquals(block.offset() + BLOCK, neighbour, "two blocks of one slab set are adjacent");
        heap.block(neighbour).fill(0, BLOCK, (byte) 0x5A);
    }

    @AfterEach
    void deleteHeap() throws IOException {
        try {
            heap.close();
        } finally {
            for (Path file : files) {
                TestHeaps.delete(file);
            }
        }
    }

    private Path newPath() {
        Path path = TestHeaps.newPath("block");
        files.add(path);
        return path;
    }

    @Test
    void shouldReadAndWriteEveryTypeRelativeToTheBlock() {
        block.putByte(0, (byte) -7);
        block.putShort(1, (short) -12345);
        block.putChar(3, 'é');
        block.putInt(5, 0xCAFE_BABE);
        block.putLong(9, Long.MIN_VALUE + 3);
        block.putFloat(17, 1.5f);
        block.putDouble(21, -2.25e300);
        block.putBytes(29, new byte[] {9, 8, 7, 6, 5}, 1, 3);

        assertEquals(-7, block.getByte(0));
        assertEquals(-12345, block.getShort(1));
        assertEquals('é', block.getChar(3));
        assertEquals(0xCAFE_BABE, block.getInt(5));
        assertEquals(Long.MIN_VALUE + 3, block.getLong(9));
        assertEquals(1.5f, block.getFloat(17));
        assertEquals(-2.25e300, block.getDouble(21));
        byte[] bytes = new byte[5];
        block.getBytes(29, bytes, 1, 3);
        assertArrayEquals(new byte[] {0, 8, 7, 6, 0}, bytes);
        // index 0 is the block's first byte: the heap's absolute accessors see the same bytes there
        assertEquals(Long.MIN_VALUE + 3, heap.getLong(block.offset() + 9));
        assertEquals(NEIGHBOUR_PATTERN, heap.getLong(neighbour), "nothing written outside the block");
    }

    @Test
    void shouldUseTheNativeByteOrder() {
        block.putLong(0, 0x0102_0304_0506_0708L);
        byte first = block.getByte(0);
        assertEquals(ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? 0x08 : 0x01, first);
    }

    @Test
    void shouldRejectAPutLongPastTheEndOfTheBlockNamingIndexOffsetAndLength() {
        IndexOutOfBoundsException past = assertThrows(IndexOutOfBoundsException.class, () -> block.putLong(BLOCK + 100, 1));
        assertEquals("access of 8 bytes at index 228 is outside the block at offset " + block.offset() + " of 128 bytes (heap "
                + heap.path() + ")", past.getMessage());
        assertOutside("index 121", () -> block.putLong(BLOCK - 7, 1)); // straddles the end
        assertOutside("index -1", () -> block.getInt(-1));
        assertOutside("index 127", () -> block.getChar(BLOCK - 1));
        assertOutside("index 100", () -> block.putBytes(100, new byte[40], 0, 40));
        assertOutside("index 0", () -> block.fill(0, BLOCK + 1, (byte) 1));
        block.putLong(BLOCK - 8, 1); // the last eight bytes are the block's
        assertEquals(NEIGHBOUR_PATTERN, heap.getLong(neighbour), "a rejected access wrote nothing");
    }

    @Test
    void shouldBoundAViewToTheLengthItWasMadeWith() {
        HeapBlock requested = heap.block(heap.allocate(100), 100);
        assertEquals(128, heap.usableSize(requested.offset()), "a 100-byte request is served from the 128-byte class");
        requested.putInt(96, 1);
        assertOutside("index 96", () -> requested.putLong(96, 1));
        assertEquals(128, heap.block(requested.offset()).length(), "block(offset) covers the usable size");
    }

    @Test
    void shouldRefuseAViewOfWhatIsNotALiveBlockOrLongerThanIt() {
        long inside = block.offset() + 8;
        IllegalArgumentException interior = assertThrows(IllegalArgumentException.class, () -> heap.block(inside));
        assertTrue(interior.getMessage().contains(Long.toString(inside)), interior.getMessage());
        for (long length : new long[] {0, -1, BLOCK + 1}) {
            IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> heap.block(block.offset(), length));
            assertTrue(bad.getMessage().contains("length=" + length), bad.getMessage());
        }
        long freed = heap.allocate(64);
        heap.free(freed);
        assertThrows(IllegalArgumentException.class, () -> heap.block(freed));
    }

    @Test
    void shouldOfferOrderedAndAtomicAccessToIntsAndLongs() {
        block.putIntVolatile(0, 5);
        assertTrue(block.compareAndSetInt(0, 5, 6));
        assertFalse(block.compareAndSetInt(0, 5, 7));
        assertEquals(6, block.getAndAddInt(0, 10));
        assertEquals(16, block.getIntVolatile(0));
        block.putIntRelease(4, -1);
        assertEquals(-1, block.getInt(4));

        block.putLongVolatile(8, 1L << 40);
        assertTrue(block.compareAndSetLong(8, 1L << 40, 3));
        assertEquals(3, block.getAndAddLong(8, -5));
        block.putLongRelease(16, 9);
        assertEquals(-2, block.getLongVolatile(8));
        assertEquals(9, block.getLongVolatile(16));

        IllegalArgumentException misaligned = assertThrows(IllegalArgumentException.class, () -> block.compareAndSetLong(4, 0, 1));
        assertTrue(misaligned.getMessage().contains("not aligned to 8"), misaligned.getMessage());
        assertOutside("index 128", () -> block.getAndAddInt(BLOCK, 1));
    }

    @Test
    void shouldLoseNoIncrementWhenThreadsAddAtOnce() throws Exception {
        int threads = 4;
        int perThread = 20_000;
        List<Thread> adders = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            adders.add(new Thread(() -> {
                for (int i = 0; i < perThread; i++) {
                    block.getAndAddInt(0, 1);
                    block.getAndAddLong(8, 2);
                }
            }));
        }
        adders.forEach(Thread::start);
        for (Thread adder : adders) {
            adder.join();
        }
        assertEquals(threads * perThread, block.getIntVolatile(0));
        assertEquals(2L * threads * perThread, block.getLongVolatile(8));
    }

    @Test
    void shouldCopyAndFillBetweenBlocksOfOneHeapOrTwo() throws IOException {
        HeapBlock big = heap.block(heap.allocate(10_000), 10_000);
        for (int i = 0; i < BLOCK; i++) {
            block.putByte(i, (byte) i);
        }
        block.copyTo(8, big, 5000, 100);
        assertEquals(8, big.getByte(5000));
        assertEquals(107, big.getByte(5099));
        big.fill(5010, 10, (byte) -1);
        assertEquals(-1, big.getByte(5019));
        assertEquals(28, big.getByte(5020));

        try (ShmHeap other = ShmHeap.create(newPath(), CAPACITY)) {
            HeapBlock there = other.block(other.allocate(BLOCK));
            big.copyTo(5000, there, 0, BLOCK);
            assertEquals(8, there.getByte(0));
            assertEquals(-1, there.getByte(10));
        }

        assertOutside("index 100", () -> block.copyTo(100, big, 0, 29));
        assertOutside("index 9950", () -> block.copyTo(0, big, 9950, 100));
        IllegalArgumentException overlap = assertThrows(IllegalArgumentException.class, () -> block.copyTo(0, block, 8, 16));
        assertTrue(overlap.getMessage().contains("overlaps"), overlap.getMessage());
        block.copyTo(0, block, 64, 64); // adjacent halves do not overlap
        assertEquals(NEIGHBOUR_PATTERN, heap.getLong(neighbour));
    }

    @Test
    void shouldRefuseEveryAccessOnceTheHeapIsClosed() throws IOException {
        Path path = newPath();
        HeapBlock orphan;
        try (ShmHeap closing = ShmHeap.create(path, CAPACITY)) {
            orphan = closing.block(closing.allocate(64));
            orphan.putLong(0, 1);
        }
        IllegalStateException closed = assertThrows(IllegalStateException.class, () -> orphan.getLong(0));
        assertTrue(closed.getMessage().contains(path + " is closed"), closed.getMessage());
        assertThrows(IllegalStateException.class, () -> orphan.putInt(0, 1));
        assertThrows(IllegalStateException.class, () -> orphan.as(Object.class));
    }

    @Test
    void shouldRefuseStoresThroughAnObserversView() throws IOException {
        block.putLong(0, 42);
        try (HeapObserver observer = HeapObserver.open(heap.path())) {
            HeapBlock seen = observer.block(block.offset());
            assertEquals(42, seen.getLong(0));
            IllegalStateException readOnly = assertThrows(IllegalStateException.class, () -> seen.putLong(0, 1));
            assertTrue(readOnly.getMessage().contains("read-only"), readOnly.getMessage());
            assertThrows(IllegalStateException.class, () -> seen.compareAndSetInt(0, 42, 1));
            assertThrows(IllegalStateException.class, () -> seen.copyTo(0, seen, 64, 8));
            assertThrows(IllegalStateException.class, () -> seen.as(MutableDirectBuffer.class));
        }
        assertEquals(42, block.getLong(0));
    }

    @Test
    void shouldRefuseAViewOfAnUnknownTypeNamingTheTypesOffered() {
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> block.as(java.nio.ByteBuffer.class));
        assertTrue(unknown.getMessage().contains("java.lang.foreign.MemorySegment") && unknown.getMessage().contains("UnsafeBuffer"),
                unknown.getMessage());
    }

    /** On Java 22+ the view is a slice of the mapping: exactly the block, tied to the heap's close(). */
    @Test
    void shouldSeeTheBlockAsAMemorySegmentOnJava22() throws Exception {
        Class<?> segmentType = segmentType();
        assumeTrue(segmentType != null && MemoryLayer.foreign(), "java.lang.foreign is final from Java 22; this is " + Runtime.version());
        block.putLong(8, 1234);
        Object segment = block.as(segmentType);
        assertEquals((long) BLOCK, segmentType.getMethod("byteSize").invoke(segment));
        assertEquals(heap.address(block.offset()), segmentType.getMethod("address").invoke(segment));
        Object javaLong = Class.forName("java.lang.foreign.ValueLayout").getField("JAVA_LONG").get(null);
        java.lang.reflect.Method getLong = segmentType.getMethod("get", Class.forName("java.lang.foreign.ValueLayout$OfLong"), long.class);
        assertEquals(1234L, getLong.invoke(segment, javaLong, 8L), "native byte order, as the block's accessors");
        java.lang.reflect.InvocationTargetException past =
                assertThrows(java.lang.reflect.InvocationTargetException.class, () -> getLong.invoke(segment, javaLong, (long) BLOCK));
        assertInstanceOf(IndexOutOfBoundsException.class, past.getCause(), "bounded to the block");

        Path path = newPath();
        Object orphan;
        try (ShmHeap closing = ShmHeap.create(path, CAPACITY)) {
            orphan = closing.block(closing.allocate(64)).as(segmentType);
        }
        java.lang.reflect.InvocationTargetException closed =
                assertThrows(java.lang.reflect.InvocationTargetException.class, () -> getLong.invoke(orphan, javaLong, 0L));
        assertInstanceOf(IllegalStateException.class, closed.getCause(), "the heap's close() closed the segment's arena");
    }

    /** Java 17 has no java.lang.foreign to ask for: the view's Java 17-21 implementation is checked directly. */
    @Test
    void shouldRefuseAMemorySegmentViewBeforeJava22() {
        assumeFalse(MemoryLayer.foreign(), "the FFM layer runs here");
        UnsupportedOperationException refused = assertThrows(UnsupportedOperationException.class,
                () -> dev.shmheap.internal.memory.SegmentViews.slice(null, block.offset(), BLOCK));
        assertTrue(refused.getMessage().contains("needs Java 22+") && refused.getMessage().contains("Chronicle Core"), refused.getMessage());
        Class<?> segmentType = segmentType();
        if (segmentType != null) { // Java 19-21: the preview API's type exists, the view is still refused
            assertThrows(UnsupportedOperationException.class, () -> block.as(segmentType));
        }
    }

    /** Agrona 2 goes through jdk.internal.misc.Unsafe (JvmFlags.forAgrona()): it works with sun.misc.Unsafe denied too. */
    @Test
    void shouldSeeTheBlockAsAnAgronaBuffer() {
        block.putLong(16, 77);
        MutableDirectBuffer buffer = block.as(MutableDirectBuffer.class);
        assertEquals(BLOCK, buffer.capacity());
        assertEquals(77, buffer.getLong(16));
        buffer.putInt(0, 99);
        assertEquals(99, block.getInt(0));
        assertThrows(IndexOutOfBoundsException.class, () -> buffer.getLong(BLOCK - 4), "Agrona checks its own bounds");
        assertEquals(77, block.as(DirectBuffer.class).getLong(16));
        assertEquals(BLOCK, block.as(UnsafeBuffer.class).capacity());
    }

    /** MemorySegment exists (as a preview or final API) from Java 19; null before. */
    private static Class<?> segmentType() {
        try {
            return Class.forName("java.lang.foreign.MemorySegment");
        } catch (ClassNotFoundException e) {
            return null;
        }
    }

    private static void assertOutside(String where, Executable access) {
        IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, access);
        assertTrue(e.getMessage().contains(where + " is outside the block at offset "), e.getMessage());
    }
}
