package dev.shmheap.ipc;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** What {@link Futex#await} reports without throwing: a timeout, a word that differs on entry; and a hard error, which throws. */
class FutexTest {
    @Test
    void shouldReportTimeoutsAndChangedWordsAsErrnoAndFailOnABadAddress() {
        assumeTrue(Futex.AVAILABLE, "futexes are used on Linux x86_64 and aarch64 only");
        Memory word = new Memory(Long.BYTES);
        Memory timespec = new Memory(16);
        word.setInt(0, 1);
        long started = System.nanoTime();
        assertEquals(Futex.ETIMEDOUT, Futex.await(Pointer.nativeValue(word), 1, 2_000_000, Pointer.nativeValue(timespec)));
        assertTrue(System.nanoTime() - started >= 1_000_000, "it slept");
        assertEquals(Futex.EAGAIN, Futex.await(Pointer.nativeValue(word), 0, 2_000_000, Pointer.nativeValue(timespec)),
                "the word is not the expected value on entry");
        assertEquals(0, Futex.wake(Pointer.nativeValue(word), 1), "nobody sleeps there");
        IllegalStateException bad = assertThrows(IllegalStateException.class,
                () -> Futex.await(8, 0, 1_000_000, Pointer.nativeValue(timespec)));
        assertTrue(bad.getMessage().contains("errno 14"), bad.getMessage()); // EFAULT
    }
}
