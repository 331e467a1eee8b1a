package dev.shmheap;

import java.nio.file.FileSystemException;

/**
 * Attaching was refused because the heap file could have been planted or changed by another
 * user: it is a symbolic link, is owned by another user, or others may write it (see
 * {@link AttachOption}). The message names the file and what was found (owner and our uid,
 * mode in octal, link target); {@link AttachOption#TRUST_ANY_FILE} attaches anyway.
 */
public class UntrustedHeapFileException extends FileSystemException {
    private static final long serialVersionUID = 1L;

    /** How the library's message says the way out; the CLI names its own flag instead. */
    static final String WAY_OUT = "AttachOption.TRUST_ANY_FILE attaches anyway";

    /** {@code reason} says what was found, without the way out, which {@link #getMessage()} adds. */
    public UntrustedHeapFileException(String file, String reason) {
        super(file, null, reason);
    }

    /** "FILE: refusing to attach: REASON; AttachOption.TRUST_ANY_FILE attaches anyway". */
    @Override
    public String getMessage() {
        return getFile() + ": refusing to attach: " + getReason() + "; " + WAY_OUT;
    }
}
