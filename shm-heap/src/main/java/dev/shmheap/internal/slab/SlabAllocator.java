package dev.shmheap.internal.slab;

import dev.shmheap.HeapCorruptedException;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.layout.PageMapEntry;
import dev.shmheap.internal.layout.SizeClasses;
import dev.shmheap.internal.memory.Counters;
import dev.shmheap.internal.memory.MappedMemory;
import dev.shmheap.internal.pagemap.PageMap;
import dev.shmheap.internal.pagemap.PageMapWalker;

import static dev.shmheap.internal.layout.HeaderDescriptor.*;
import static dev.shmheap.internal.layout.PageMapEntry.SLAB;
import static dev.shmheap.internal.layout.PageMapEntry.SLAB_PAGE;

/**
 * The slab layer: size class {@code c} hands out blocks of {@code 64 << c} bytes from sets of
 * 64 blocks, each set one buddy block of order {@code c}. A class has two stripes (see
 * {@code HeaderDescriptor}), each with its own lock, partial list and counters, and every set
 * belongs to one of them. Every method expects the caller to hold the lock of the stripe
 * {@code s} it names; growth and shrinking go through a {@link SetSource}.
 *
 * <p>Truth and caches: a set's occupancy is one 64-bit word (word 1 of its head entry, bit i
 * = block i used), changed by one store per allocate or free. The class's partial list (sets
 * with a free block, linked through word 0 of the head entries) and its counters are caches:
 * <pre>
 *   set on the partial list  &lt;=&gt;  occupancy != all ones
 *   used blocks              ==  sum of popcount(occupancy) over the class's sets
 *   set count * 64           ==  total blocks
 * </pre>
 * {@link #rebuild} recreates them from the page map.
 *
 * <p>Policy for empty sets: a set whose last block is freed stays on the partial list, so an
 * allocate/free cycle at a class boundary never bounces a set between the slab and the buddy.
 * Empty sets go back to the buddy when the heap cannot satisfy a request otherwise, or on
 * {@code trim()}.
 */
public final class SlabAllocator {
    public static final long NO_BLOCK = -1;
    /** {@link #free} results. */
    public static final int FREED = 0;
    /** The page no longer belongs to the class and stripe the caller locked. */
    public static final int WRONG_CLASS = 1;
    /** The offset is inside a block or names a free block. */
    public static final int NOT_LIVE = 2;

    private final MappedMemory memory;
    private final HeapLayout layout;
    private final PageMap pages;
    private final SetSource source;

    public SlabAllocator(MappedMemory memory, HeapLayout layout, PageMap pages, SetSource source) {
        this.memory = memory;
        this.layout = layout;
        this.pages = pages;
        this.source = source;
    }

    /** Returns the offset of a free block of class {@code c} from stripe {@code s}, or {@link #NO_BLOCK}. */
    public long allocate(int c, int s) {
        long headOffset = classOffset(c, s, CLASS_PARTIAL_HEAD);
        long head = memory.getLong(headOffset);
        if (head == 0) {
            head = grow(c, s);
            if (head == 0) {
                return NO_BLOCK;
            }
        }
        long set = pages.pageOfLink(head, "partial-set head of class", SizeClasses.blockSize(c));
        long entry = setHeadEntry(set, c, s, "partial-set head of class", SizeClasses.blockSize(c));
        long word0 = pages.word0At(entry);
        long occupancy = pages.word1At(entry);
        if (occupancy == -1L) {
            throw fullSetOnPartialList(set, c);
        }
        int block = Long.numberOfTrailingZeros(~occupancy);
        long updated = occupancy | (1L << block);
        pages.putWord1At(entry, updated);
        if (updated == -1L) {
            memory.putLong(headOffset, PageMapEntry.link(word0));
            pages.putWord0At(entry, PageMapEntry.withLink(word0, 0));
        }
        increment(c, s, CLASS_USED_BLOCKS, 1);
        increment(c, s, CLASS_ALLOCATIONS, 1);
        return layout.pageOffset(set) + (long) block * SizeClasses.blockSize(c);
    }

    /**
     * Frees the block at {@code offset}, which the caller found in a page of class {@code c},
     * stripe {@code s}. Returns {@link #WRONG_CLASS} when, under the lock, the page no longer
     * belongs to that class and stripe, and {@link #NOT_LIVE} (changing nothing) when the offset is not the start of
     * a used block; the caller describes the misuse after releasing the lock.
     *
     * @param pageEntry {@code PageMap.entry(layout.pageOf(offset))}, which the caller looked up
     *                  to find the class; an entry's offset never changes, so it is reused here
     */
    public int free(int c, int s, long offset, long pageEntry) {
        long page = layout.pageOf(offset);
        long pageWord = pageEntry < 0 ? 0 : pages.word0At(pageEntry);
        int kind = PageMapEntry.kind(pageWord);
        if ((kind != SLAB && kind != SLAB_PAGE) || PageMapEntry.sizeClass(pageWord) != c || PageMapEntry.stripe(pageWord) != s) {
            return WRONG_CLASS;
        }
        long set = page & -(1L << SizeClasses.setOrder(c));
        // a one-page set's page is its head: its entry was just read and checked
        long entry = set == page && kind == SLAB ? pageEntry : setHeadEntry(set, c, s, "slab page", page);
        long word0 = pages.word0At(entry);
        int blockShift = SizeClasses.MIN_SHIFT + c;
        long within = offset - layout.pageOffset(set);
        int block = (int) (within >>> blockShift);
        long occupancy = pages.word1At(entry);
        if ((within & ((1L << blockShift) - 1)) != 0 || (occupancy & (1L << block)) == 0) {
            return NOT_LIVE;
        }
        pages.putWord1At(entry, occupancy & ~(1L << block));
        if (occupancy == -1L) {
            long headOffset = classOffset(c, s, CLASS_PARTIAL_HEAD);
            pages.putWord0At(entry, PageMapEntry.withLink(word0, memory.getLong(headOffset)));
            memory.putLong(headOffset, set + 1);
        }
        increment(c, s, CLASS_USED_BLOCKS, -1);
        increment(c, s, CLASS_FREES, 1);
        return FREED;
    }

    /** Returns every empty set of stripe {@code s} of class {@code c} to the buddy; returns the bytes released. */
    public long releaseEmptySets(int c, int s) {
        long headOffset = classOffset(c, s, CLASS_PARTIAL_HEAD);
        long released = 0;
        long previous = -1;
        long link = memory.getLong(headOffset);
        long steps = 0;
        while (link != 0) {
            if (++steps > layout.pageCount()) {
                throw new HeapCorruptedException("partial list of class " + SizeClasses.blockSize(c) + " has a cycle");
            }
            long set = pages.pageOfLink(link, "partial list of class", SizeClasses.blockSize(c));
            long word0 = pages.word0At(setHeadEntry(set, c, s, "partial list of class", SizeClasses.blockSize(c)));
            long next = PageMapEntry.link(word0);
            if (pages.word1(set) == 0) {
                if (previous < 0) {
                    memory.putLong(headOffset, next);
                } else {
                    pages.putWord0(previous, PageMapEntry.withLink(pages.word0(previous), next));
                }
                uninstallSet(c, s, set);
                source.returnSet(set);
                released += SizeClasses.setBytes(c);
            } else {
                previous = set;
            }
            link = next;
        }
        return released;
    }

    /**
     * Takes a group of sets from the source and links them all; returns the new partial-list
     * head (a link), or 0 when the source has no room. Apart from {@link #allocate} so that
     * the common path stays small enough for the JIT to inline.
     */
    private long grow(int c, int s) {
        long page = source.takeSet(c, s);
        if (page == SetSource.NO_SET) {
            return 0;
        }
        // the last set of the group is linked first, so the first is the head
        for (long k = (1L << (layout.setGroupOrder(c) - SizeClasses.setOrder(c))) - 1; k >= 0; k--) {
            installSet(c, s, page + (k << SizeClasses.setOrder(c)));
        }
        return page + 1;
    }

    /** Completes a set the buddy committed as an empty head: marks its pages, links it. */
    private void installSet(int c, int s, long page) {
        markSetPages(c, page, PageMapEntry.slabWord0(SLAB_PAGE, c, s, 0));
        long headOffset = classOffset(c, s, CLASS_PARTIAL_HEAD);
        pages.putWord0(page, PageMapEntry.slabWord0(SLAB, c, s, memory.getLong(headOffset)));
        memory.putLong(headOffset, page + 1);
        increment(c, s, CLASS_SET_COUNT, 1);
    }

    /**
     * Clears the later pages of an unlinked empty set before the buddy frees its head: a crash
     * in between leaves an empty set whose class rebuild marks its pages again.
     */
    private void uninstallSet(int c, int s, long page) {
        markSetPages(c, page, 0);
        increment(c, s, CLASS_SET_COUNT, -1);
    }

    private void markSetPages(int c, long page, long word0) {
        for (long p = 1; p < (1L << SizeClasses.setOrder(c)); p++) {
            pages.putWord0(page + p, word0);
        }
    }

    /**
     * The offset of {@code set}'s head entry, checked to be the head of a set of class {@code c},
     * stripe {@code s}; {@code what + " " + index} says where the set was reached from.
     */
    private long setHeadEntry(long set, int c, int s, String what, long index) {
        long entry = pages.entry(set);
        long word0 = entry < 0 ? 0 : pages.word0At(entry);
        if (PageMapEntry.kind(word0) != SLAB || PageMapEntry.sizeClass(word0) != c || PageMapEntry.stripe(word0) != s) {
            throw notASetHead(set, word0, c, s, what, index);
        }
        return entry;
    }

    private static HeapCorruptedException fullSetOnPartialList(long set, int c) {
        return new HeapCorruptedException("full slab set at page " + set + " is on the partial list of class " + SizeClasses.blockSize(c));
    }

    /** Built apart from {@link #setHeadEntry} so that the hot check stays small enough to inline. */
    private static HeapCorruptedException notASetHead(long set, long word0, int c, int s, String what, long index) {
        return new HeapCorruptedException(what + " " + index + ": page " + set + " is " + PageMapEntry.toString(word0)
                + ", expected the head of a slab set of class " + SizeClasses.blockSize(c) + " stripe " + s);
    }

    private void increment(int c, int s, int field, long delta) {
        Counters.add(memory, classOffset(c, s, field), delta);
    }

    /**
     * Recreates the partial list and counters of stripe {@code s} of class {@code c} from the
     * page map, after a process died holding its lock. The caller also holds the buddy lock
     * so the map holds still.
     */
    public void rebuild(int c, int s) {
        long headOffset = classOffset(c, s, CLASS_PARTIAL_HEAD);
        memory.putLong(headOffset, 0);
        long[] sets = {0};
        long[] used = {0};
        PageMapWalker.walk(pages, layout, (page, word0, word1) -> {
            if (PageMapEntry.kind(word0) == SLAB && PageMapEntry.sizeClass(word0) == c && PageMapEntry.stripe(word0) == s) {
                markSetPages(c, page, PageMapEntry.slabWord0(SLAB_PAGE, c, s, 0));
                sets[0]++;
                used[0] += Long.bitCount(word1);
                long link = word1 == -1L ? 0 : memory.getLong(headOffset);
                pages.putWord0(page, PageMapEntry.withLink(word0, link));
                if (word1 != -1L) {
                    memory.putLong(headOffset, page + 1);
                }
            }
            return true;
        }, problem -> {
            throw new HeapCorruptedException("cannot rebuild class " + SizeClasses.blockSize(c) + " stripe " + s + ": " + problem);
        });
        memory.putLong(classOffset(c, s, CLASS_SET_COUNT), sets[0]);
        memory.putLong(classOffset(c, s, CLASS_USED_BLOCKS), used[0]);
        Counters.restoreFrees(memory, classOffset(c, s, CLASS_ALLOCATIONS), classOffset(c, s, CLASS_FREES), used[0]);
    }
}
