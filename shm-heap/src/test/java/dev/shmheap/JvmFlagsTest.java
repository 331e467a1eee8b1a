package dev.shmheap;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JvmFlagsTest {
    @Test
    void shouldOpenTheChannelPackageChronicleNeedsOnJava17To21() {
        assertTrue(JvmFlags.forJava17To21().contains("--add-opens=java.base/sun.nio.ch=ALL-UNNAMED"), JvmFlags.forJava17To21().toString());
    }

    @Test
    void shouldAskOnlyForNativeAccessOnJava22() {
        assertEquals(java.util.List.of("--enable-native-access=ALL-UNNAMED"), JvmFlags.forJava22());
    }

    /** The parent POM keeps the flags and their manifest form side by side: they must say the same. */
    @Test
    void shouldKeepTheJarManifestListsInStepWithTheFlags() {
        assertEquals(JvmFlags.manifestAddOpens(), JvmFlags.configuredManifestAddOpens());
        assertEquals(JvmFlags.manifestAddExports(), JvmFlags.configuredManifestAddExports());
    }
}
