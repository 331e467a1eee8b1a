package dev.shmheap.ipc;

import dev.shmheap.ShmHeap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The int, short, double and byte accessors of {@link ShmClaim} and {@link ShmReceiver}: what
 * the claim writes the heap sees at the same bytes (native order), the receiver reads it back,
 * inline and by offset, and every index that reaches outside the message is refused.
 */
class PrimitiveAccessorsTest {
    /** Layout of the test message: [int 0][short 4][byte 6][pad 7][double 8][... ][int at length - 4]. */
    private static final int INT_AT = 0;
    private static final int SHORT_AT = 4;
    private static final int BYTE_AT = 6;
    private static final int DOUBLE_AT = 8;
    private static final int SHORTEST = 20;

    private Path path;
    private ShmHeap heap;

    @BeforeEach
    void setUp() throws Exception {
        path = TestHeaps.newPath("accessors");
        heap = ShmHeap.create(path, 8 << 20);
    }

    @AfterEach
    void tearDown() throws Exception {
        heap.close();
        TestHeaps.delete(path);
    }

    @Test
    void shouldWriteAndReadIntsShortsDoublesAndBytesInlineAndByOffset() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "primitives", 8);
        int[] lengths = {SHORTEST, channel.inlineCapacity(), channel.inlineCapacity() + 4, 4000};
        try (ShmSender sender = channel.newSender(); ShmReceiver receiver = channel.newReceiver()) {
            ShmClaim claim = new ShmClaim();
            for (int length : lengths) {
                assertTrue(sender.tryClaim(length, claim));
                claim.putInt(INT_AT, -length);
                claim.putShort(SHORT_AT, (short) (length * 3));
                claim.putByte(BYTE_AT, (byte) length);
                claim.putDouble(DOUBLE_AT, length / 7.0);
                claim.putInt(length - Integer.BYTES, 0x5A5A0000 | length);
                assertNativeBytes(claim.offset(), length);
                assertEquals(-length, claim.getInt(INT_AT));
                assertEquals((short) (length * 3), claim.getShort(SHORT_AT));
                assertEquals((byte) length, claim.getByte(BYTE_AT));
                assertEquals(length / 7.0, claim.getDouble(DOUBLE_AT));
                assertThrows(IndexOutOfBoundsException.class, () -> claim.putInt(length - 3, 1), "an int past the end");
                assertThrows(IndexOutOfBoundsException.class, () -> claim.putShort(length - 1, (short) 1), "a short past the end");
                assertThrows(IndexOutOfBoundsException.class, () -> claim.putDouble(length - 7, 1), "a double past the end");
                assertThrows(IndexOutOfBoundsException.class, () -> claim.putByte(length, (byte) 1), "a byte past the end");
                assertThrows(IndexOutOfBoundsException.class, () -> claim.getInt(-1), "before the start");
                claim.commit();
                assertThrows(IllegalStateException.class, () -> claim.putInt(0, 1), "a committed claim");
            }
            List<Integer> seen = new ArrayList<>();
            assertEquals(lengths.length, receiver.read((offset, length, inline) -> {
                int n = (int) length;
                assertEquals(-n, receiver.getInt(INT_AT));
                assertEquals((short) (n * 3), receiver.getShort(SHORT_AT));
                assertEquals((byte) n, receiver.getByte(BYTE_AT));
                assertEquals(n / 7.0, receiver.getDouble(DOUBLE_AT));
                assertEquals(0x5A5A0000 | n, receiver.getInt(n - Integer.BYTES));
                assertThrows(IndexOutOfBoundsException.class, () -> receiver.getInt(n - 3), "an int past the end");
                assertThrows(IndexOutOfBoundsException.class, () -> receiver.getShort(n - 1), "a short past the end");
                assertThrows(IndexOutOfBoundsException.class, () -> receiver.getDouble(n - 7), "a double past the end");
                assertThrows(IndexOutOfBoundsException.class, () -> receiver.getByte(n), "a byte past the end");
                seen.add(n);
                return false;
            }, lengths.length));
            assertEquals(List.of(lengths[0], lengths[1], lengths[2], lengths[3]), seen);
            assertThrows(IllegalStateException.class, () -> receiver.getInt(0), "outside onMessage");
            assertThrows(IllegalStateException.class, () -> receiver.getDouble(0), "outside onMessage");
        }
        assertEquals(0, channel.destroy(Duration.ZERO));
    }

    /** The heap's byte-wise view of what the claim wrote: the accessors use native byte order. */
    private void assertNativeBytes(long offset, int length) {
        byte[] bytes = new byte[Integer.BYTES];
        heap.getBytes(offset + INT_AT, bytes, 0, bytes.length);
        int expected = -length;
        boolean little = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;
        for (int i = 0; i < bytes.length; i++) {
            int shift = 8 * (little ? i : Integer.BYTES - 1 - i);
            assertEquals((byte) (expected >>> shift), bytes[i], "byte " + i + " of the int");
        }
        assertEquals(Double.doubleToRawLongBits(length / 7.0), heap.getLong(offset + DOUBLE_AT), "the double's bits");
        assertEquals((byte) length, heap.getByte(offset + BYTE_AT));
    }
}
