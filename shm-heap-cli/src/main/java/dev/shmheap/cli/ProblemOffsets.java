package dev.shmheap.cli;

import dev.shmheap.internal.layout.HeaderDescriptor;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Adds file offsets to the problems {@code ShmHeap.verify()} reports. The library names data
 * pages ("page 12") and header counters ("buddy free bytes is ...") in prose; an operator with
 * a hex dump needs the byte offset, so each page gets "(offset N)" and each header field
 * "[header offset N]". A message in another wording is printed unchanged.
 *
 * <p>This reads the library's message text because {@code VerifyReport} carries problems as
 * strings only; a structured problem (offset, field, text) in the API would replace it.
 */
final class ProblemOffsets {
    private static final Pattern PAGE = Pattern.compile("\\bpage (\\d+)\\b");
    private static final Pattern PAGE_PAIR = Pattern.compile("\\bpages (\\d+) and (\\d+)\\b");
    private static final Pattern ORDER_FIELD = Pattern.compile("^(free-block count|free list) of order (\\d+)\\b");
    private static final Pattern CLASS_FIELD = Pattern.compile("^(set count|used blocks|partial list) of class (\\d+) stripe (\\d)\\b");
    private static final long PAGE_SIZE = 4096;

    private ProblemOffsets() {
    }

    static String annotate(String problem, long dataOffset) {
        String text = PAGE_PAIR.matcher(problem).replaceAll(m -> "pages " + m.group(1) + " and " + m.group(2) + " (offsets "
                + pageOffset(m.group(1), dataOffset) + " and " + pageOffset(m.group(2), dataOffset) + ")");
        text = PAGE.matcher(text).replaceAll(m -> "page " + m.group(1) + " (offset " + pageOffset(m.group(1), dataOffset) + ")");
        long field = headerField(problem);
        return field < 0 ? text : text + " [header offset " + field + "]";
    }

    private static String pageOffset(String page, long dataOffset) {
        try {
            return Long.toString(dataOffset + Math.multiplyExact(Long.parseLong(page), PAGE_SIZE));
        } catch (ArithmeticException | NumberFormatException e) {
            return "?";
        }
    }

    /** The header offset of the counter or list head a problem is about, or -1. */
    static long headerField(String problem) {
        if (problem.startsWith("buddy free bytes ")) {
            return HeaderDescriptor.BUDDY_FREE_BYTES_OFFSET;
        }
        if (problem.startsWith("buddy allocated bytes ")) {
            return HeaderDescriptor.BUDDY_ALLOCATED_BYTES_OFFSET;
        }
        Matcher m = ORDER_FIELD.matcher(problem);
        if (m.find()) {
            int order = Integer.parseInt(m.group(2));
            if (order >= HeaderDescriptor.ORDER_COUNT) {
                return -1;
            }
            return m.group(1).equals("free list") ? HeaderDescriptor.freeListHeadOffset(order) : HeaderDescriptor.freeCountOffset(order);
        }
        m = CLASS_FIELD.matcher(problem);
        if (m.find()) {
            int blockSize = Integer.parseInt(m.group(2));
            int sizeClass = Integer.numberOfTrailingZeros(blockSize) - 6;
            int stripe = Integer.parseInt(m.group(3));
            if (Integer.bitCount(blockSize) != 1 || sizeClass < 0 || sizeClass > 6 || stripe >= HeaderDescriptor.CLASS_STRIPES) {
                return -1;
            }
            int field = switch (m.group(1)) {
                case "set count" -> HeaderDescriptor.CLASS_SET_COUNT;
                case "used blocks" -> HeaderDescriptor.CLASS_USED_BLOCKS;
                default -> HeaderDescriptor.CLASS_PARTIAL_HEAD;
            };
            return HeaderDescriptor.classOffset(sizeClass, stripe, field);
        }
        return -1;
    }
}
