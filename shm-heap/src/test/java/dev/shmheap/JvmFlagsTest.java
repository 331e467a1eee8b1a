package dev.shmheap;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JvmFlagsTest {
    @Test
    void shouldOpenTheChannelPackageChronicleNeeds() {
        assertTrue(JvmFlags.required().contains("--add-opens=java.base/sun.nio.ch=ALL-UNNAMED"), JvmFlags.required().toString());
    }

    /** The parent POM keeps the flags and their manifest form side by side: they must say the same. */
    @Test
    void shouldKeepTheJarManifestListsInStepWithTheFlags() {
        assertEquals(JvmFlags.manifestAddOpens(), JvmFlags.configuredManifestAddOpens());
        assertEquals(JvmFlags.manifestAddExports(), JvmFlags.configuredManifestAddExports());
    }
}
