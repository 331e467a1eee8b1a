package dev.shmheap.cli;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SizesTest {
    @Test
    void shouldParseSuffixesInAnyCaseAsPowersOf1024() {
        assertEquals(268_435_456L, Sizes.parseBytes("256m"));
        assertEquals(268_435_456L, Sizes.parseBytes("256M"));
        assertEquals(268_435_456L, Sizes.parseBytes("256MiB"));
        assertEquals(268_435_456L, Sizes.parseBytes("256mb"));
        assertEquals(65_536L, Sizes.parseBytes("64k"));
        assertEquals(65_536L, Sizes.parseBytes("64K"));
        assertEquals(2L << 30, Sizes.parseBytes("2g"));
        assertEquals(1L << 40, Sizes.parseBytes("1T"));
        assertEquals(123_456L, Sizes.parseBytes("123456"));
        assertEquals(512L, Sizes.parseBytes("512b"));
    }

    @Test
    void shouldRejectWhatIsNotASizeSayingWhatIsAccepted() {
        for (String bad : new String[] {"", "abc", "12x", "-5", "1.5g", "m", "10 kk", "99999999999999999999", "9000000000t"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Sizes.parseBytes(bad), bad);
            assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
        }
    }

    @Test
    void shouldParseDurations() {
        assertEquals(Duration.ofMillis(100), Sizes.parseDuration("100ms"));
        assertEquals(Duration.ofSeconds(1), Sizes.parseDuration("1s"));
        assertEquals(Duration.ofMillis(1500), Sizes.parseDuration("1.5s"));
        assertEquals(Duration.ofMinutes(2), Sizes.parseDuration("2m"));
        assertEquals(Duration.ofSeconds(3), Sizes.parseDuration("3"));
        assertThrows(IllegalArgumentException.class, () -> Sizes.parseDuration("soon"));
    }

    @Test
    void shouldPrintExactUnitsWithoutDecimals() {
        assertEquals("0 B", Sizes.human(0));
        assertEquals("640 B", Sizes.human(640));
        assertEquals("4 KiB", Sizes.human(4096));
        assertEquals("1.5 MiB", Sizes.human(3L << 19));
        assertEquals("256 MiB", Sizes.human(256L << 20));
        assertEquals("1 TiB", Sizes.human(1L << 40));
    }
}
