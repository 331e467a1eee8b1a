package dev.shmheap.internal.pagemap;

import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.layout.PageMapEntry;
import dev.shmheap.internal.layout.SizeClasses;

import java.util.function.Consumer;

/**
 * Visits the block heads of the page map in address order: from page 0, each head of order
 * {@code k} is followed by the head at {@code page + 2^k}. This is the one walk that verify,
 * repair and the statistics tools share; it reads only head entries, so its cost is
 * proportional to the number of blocks, not to the capacity.
 *
 * <p>Where a head is expected but the entry is not a valid head (wrong kind, misaligned,
 * running past the end, reserved bits set) the walker reports the problem and resynchronises
 * one page further on.
 */
public final class PageMapWalker {
    @FunctionalInterface
    public interface HeadVisitor {
        /** @return false to stop the walk */
        boolean visit(long page, long word0, long word1);
    }

    /** Receives each entry the walk cannot read as a block head, with its page. */
    @FunctionalInterface
    public interface PageProblems {
        void problem(long page, String message);
    }

    private PageMapWalker() {
    }

    public static void walk(PageMap pages, HeapLayout layout, HeadVisitor visitor, Consumer<String> problems) {
        walkReportingPages(pages, layout, visitor, (page, message) -> problems.accept(message));
    }

    /** {@link #walk}, handing each problem over with the page it is about. */
    public static void walkReportingPages(PageMap pages, HeapLayout layout, HeadVisitor visitor, PageProblems problems) {
        long pageCount = layout.pageCount();
        long page = 0;
        while (page < pageCount) {
            long word0 = pages.word0(page);
            String problem = headProblem(page, word0, pageCount);
            if (problem != null) {
                problems.problem(page, problem);
                page++;
                continue;
            }
            if (!visitor.visit(page, word0, pages.word1(page))) {
                return;
            }
            page += 1L << PageMapEntry.order(word0);
        }
    }

    private static String headProblem(long page, long word0, long pageCount) {
        int kind = PageMapEntry.kind(word0);
        int order = PageMapEntry.order(word0);
        String where = "page " + page + " (" + PageMapEntry.toString(word0) + "): ";
        if (kind != PageMapEntry.FREE && kind != PageMapEntry.USED && kind != PageMapEntry.SLAB && kind != PageMapEntry.CACHED) {
            return where + "expected the head of a block, found " + PageMapEntry.kindName(kind);
        }
        if (!PageMapEntry.reservedBitsClear(word0)) {
            return where + "reserved bits are set";
        }
        if (order >= 63 || (page & ((1L << order) - 1)) != 0 || page + (1L << order) > pageCount) {
            return where + "a block of order " + order + " cannot start here in " + pageCount + " pages";
        }
        if (kind == PageMapEntry.SLAB
                && (PageMapEntry.sizeClass(word0) >= SizeClasses.COUNT || SizeClasses.setOrder(PageMapEntry.sizeClass(word0)) != order)) {
            return where + "a slab set of class " + PageMapEntry.sizeClass(word0) + " cannot have order " + order;
        }
        if (kind != PageMapEntry.SLAB && PageMapEntry.sizeClass(word0) != 0) {
            return where + "a buddy block carries size class " + PageMapEntry.sizeClass(word0);
        }
        if (kind != PageMapEntry.SLAB && kind != PageMapEntry.CACHED && PageMapEntry.owner(word0) != 0) {
            return where + "a buddy block carries an owner";
        }
        if (kind == PageMapEntry.CACHED && PageMapEntry.owner(word0) == 0) {
            return where + "a cached block names no owner";
        }
        if (PageMapEntry.owner(word0) > PageMapEntry.MAX_OWNER) {
            return where + "owner field " + PageMapEntry.owner(word0) + " names no process-table slot";
        }
        if (kind != PageMapEntry.SLAB && kind != PageMapEntry.FREE && PageMapEntry.link(word0) != 0) {
            return where + "a " + PageMapEntry.kindName(kind) + " block carries a list link";
        }
        return null;
    }
}
