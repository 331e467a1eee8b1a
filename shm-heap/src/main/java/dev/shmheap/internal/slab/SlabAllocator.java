package dev.shmheap.internal.slab;

import dev.shmheap.HeapCorruptedException;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.layout.PageMapEntry;
import dev.shmheap.internal.layout.SizeClasses;
import dev.shmheap.internal.memory.Counters;
import dev.shmheap.internal.memory.MappedMemory;
import dev.shmheap.internal.pagemap.PageMap;
import dev.shmheap.internal.pagemap.PageMapWalker;

import java.util.function.IntPredicate;

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
 * <p>Owned sets (docs/FORMAT.md, "Owned sets"): a set whose head carries an owner is off the
 * partial list, and only its owner changes its occupancy word, without a lock (see
 * {@link OwnedSet}). The counters of a stripe count the unowned sets only; taking a set
 * moves its live blocks out of them, releasing it moves them back:
 * <pre>
 *   used blocks              ==  sum of popcount(occupancy) over the unowned sets
 *   allocations - frees      ==  used blocks
 * </pre>
 * An unowned set may carry remote-free bits R (a freer whose CAS met a release): they stay
 * counted as used until a lock holder collects them. The methods here that take, release or
 * collect a set expect the caller to hold the stripe's lock like every other.
 *
 * <p>Policy for empty sets: a set whose last block is freed stays on the partial list, so an
 * allocate/free cycle at a class boundary never bounces a set between the slab and the buddy.
 * Empty sets go back to the buddy when the heap cannot satisfy a request otherwise, or on
 * {@code trim()}.
 */
public final class SlabAllocator {
    public static final long NO_BLOCK = -1;
    /** How many listed sets a take looks through for one whose page-map line no other owner writes. */
    static final int LINE_SEARCH = 8;
    private static final long NO_PREVIOUS = -1;
    /** {@link #free} results. */
    public static final int FREED = 0;
    /** The page no longer belongs to the class and stripe the caller locked. */
    public static final int WRONG_CLASS = 1;
    /** The offset is inside a block or names a free block. */
    public static final int NOT_LIVE = 2;
    /** The block's set is owned: the free must go through its remote-free word. */
    public static final int OWNED = 3;

    private final MappedMemory memory;
    private final HeapLayout layout;
    private final PageMap pages;
    private final SetSource source;
    private final OwnerRegistry registry;
    /** Whether process-table slot k holds a process that runs: a live owner keeps its sets in a rebuild. */
    private final IntPredicate slotAlive;

    public SlabAllocator(MappedMemory memory, HeapLayout layout, PageMap pages, SetSource source, OwnerRegistry registry,
                         IntPredicate slotAlive) {
        this.memory = memory;
        this.layout = layout;
        this.pages = pages;
        this.source = source;
        this.registry = registry;
        this.slotAlive = slotAlive;
    }

    /**
     * Returns the offset of a free block of class {@code c} from stripe {@code s}, held by
     * {@code holder} (see {@code HolderMap}), or {@link #NO_BLOCK}.
     */
    public long allocate(int c, int s, byte holder) {
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
        memory.putByteUnchecked(layout.holderLine(set) + block, holder);
        pages.putWord1ReleaseAt(entry, updated); // the commit, after the holder byte
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
        if (PageMapEntry.owner(word0) != 0) {
            return OWNED;
        }
        int blockShift = SizeClasses.MIN_SHIFT + c;
        long within = offset - layout.pageOffset(set);
        int block = (int) (within >>> blockShift);
        long occupancy = pages.word1At(entry);
        if ((within & ((1L << blockShift) - 1)) != 0 || (occupancy & ~pages.word2At(entry) & (1L << block)) == 0) {
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
            long entry = pages.entry(set);
            if (pages.word1At(entry) == 0 && pages.word2At(entry) == 0) {
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
        clearOwnerWords(pages.entry(page));
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

    /**
     * Words 2 and 3 of a head are 0 whenever no owner holds the set; a crash in a collection
     * can leave R bits behind on a set that a repair then frees, so a new head starts clean.
     */
    private void clearOwnerWords(long entry) {
        if (pages.word2At(entry) != 0) {
            memory.putLongUnchecked(entry + PageMapEntry.WORD2, 0);
        }
        if (pages.word3At(entry) != 0) {
            pages.putWord3At(entry, 0);
        }
    }

    // ---- owned sets: take, release, collect; the caller holds the lock of the set's stripe ----

    /**
     * Takes the first set of stripe {@code s}'s partial list (growing the class if it is empty;
     * for one-page sets, the first of the next few whose page-map line no other owner writes,
     * when the first one's does) for the process in slot {@code owner - 1}, recording it in
     * registry entry {@code index}; returns the set's head page or {@link #NO_BLOCK}. Steps:
     * collect R (a late remote free), write the registry entry, unlink the set (the list head,
     * or its predecessor's link), store the owner field (the commit), move its live blocks out
     * of the stripe's counters.
     */
    public long takeSet(int c, int s, int owner, int index) {
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
        // A one-page set's head shares its 64-byte page-map line with its neighbour's, and the
        // owner stores O and A there on every allocate: prefer a listed set whose neighbour nobody
        // owns, so that two owners do not bounce one line (the 0.4x launches of "2 JVMs, one class").
        long previousEntry = SizeClasses.setOrder(c) == 0 && lineMateOwned(set) ? predecessorOfUnsharedSet(c, s, set, word0) : NO_PREVIOUS;
        if (previousEntry != NO_PREVIOUS) {
            set = PageMapEntry.link(pages.word0At(previousEntry)) - 1;
            entry = pages.entry(set);
            word0 = pages.word0At(entry);
        }
        if (PageMapEntry.owner(word0) != 0) {
            throw new HeapCorruptedException("slab set at page " + set + " on the partial list of class " + SizeClasses.blockSize(c)
                    + " is owned by slot " + (PageMapEntry.owner(word0) - 1));
        }
        collectUnownedAt(c, s, entry);
        long occupancy = pages.word1At(entry);
        if (occupancy == -1L) {
            throw fullSetOnPartialList(set, c);
        }
        registry.put(owner - 1, index, set);
        if (previousEntry == NO_PREVIOUS) {
            memory.putLong(headOffset, PageMapEntry.link(word0));
        } else {
            pages.putWord0At(previousEntry, PageMapEntry.withLink(pages.word0At(previousEntry), PageMapEntry.link(word0)));
        }
        pages.putWord0At(entry, PageMapEntry.withOwner(PageMapEntry.withLink(word0, 0), owner));
        long live = Long.bitCount(occupancy);
        if (live != 0) {
            increment(c, s, CLASS_USED_BLOCKS, -live);
            increment(c, s, CLASS_FREES, live);
        }
        return set;
    }

    /**
     * Gives the set at {@code set} (head entry {@code entry}), owned by slot {@code owner - 1}
     * through registry entry {@code index}, back to stripe {@code s}: store owner = 0 with a
     * full fence (the Dekker pair with a remote freer, see {@link OwnedSet#remoteFree}), collect
     * R, settle the owner's allocations and frees into the counters, list the set if it has a
     * free block, clear the registry entry. A set not owned by {@code owner} (a stale entry)
     * only loses its registry entry.
     */
    public void releaseSet(int c, int s, long set, int owner, int index) {
        long entry = pages.entry(set);
        long word0 = entry < 0 ? 0 : pages.word0At(entry);
        if (PageMapEntry.kind(word0) != SLAB || PageMapEntry.owner(word0) != owner || PageMapEntry.sizeClass(word0) != c
                || PageMapEntry.stripe(word0) != s) {
            registry.clear(owner - 1, index);
            return;
        }
        disown(c, s, entry, word0);
        long occupancy = pages.word1At(entry);
        if (occupancy != -1L) {
            long headOffset = classOffset(c, s, CLASS_PARTIAL_HEAD);
            pages.putWord0At(entry, PageMapEntry.withLink(PageMapEntry.withOwner(word0, 0), memory.getLong(headOffset)));
            memory.putLong(headOffset, set + 1);
        }
        registry.clear(owner - 1, index);
    }

    /** Clears the owner (fenced), collects R and moves the set's figures back into the counters. */
    private void disown(int c, int s, long entry, long word0) {
        OwnedSet.disown(memory, entry);
        OwnedSet.collect(memory, entry);
        long live = Long.bitCount(pages.word1At(entry));
        long allocations = pages.word3At(entry);
        if (allocations != 0) {
            pages.putWord3At(entry, 0);
        }
        increment(c, s, CLASS_USED_BLOCKS, live);
        increment(c, s, CLASS_ALLOCATIONS, allocations);
        increment(c, s, CLASS_FREES, allocations - live);
    }

    /**
     * For a remote freer whose CAS met a release (it found owner = 0 after it): collects R of
     * the set at {@code set} if it is still unowned (an owner collects its own), counting the
     * collected blocks as frees and listing the set if it was full.
     */
    public void collectUnowned(int c, int s, long set) {
        long entry = pages.entry(set);
        long word0 = entry < 0 ? 0 : pages.word0At(entry);
        if (PageMapEntry.kind(word0) != SLAB || PageMapEntry.owner(word0) != 0 || PageMapEntry.sizeClass(word0) != c
                || PageMapEntry.stripe(word0) != s) {
            return;
        }
        boolean wasFull = pages.word1At(entry) == -1L;
        if (collectUnownedAt(c, s, entry) != 0 && wasFull) {
            long headOffset = classOffset(c, s, CLASS_PARTIAL_HEAD);
            pages.putWord0At(entry, PageMapEntry.withLink(word0, memory.getLong(headOffset)));
            memory.putLong(headOffset, set + 1);
        }
    }

    private long collectUnownedAt(int c, int s, long entry) {
        long collected = OwnedSet.collect(memory, entry);
        if (collected != 0) {
            long n = Long.bitCount(collected);
            increment(c, s, CLASS_USED_BLOCKS, -n);
            increment(c, s, CLASS_FREES, n);
        }
        return collected;
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
    /**
     * The head entry of the listed set before the first of the next {@link #LINE_SEARCH} sets
     * after {@code set} (word 0 {@code word0}) whose line-mate nobody owns, or
     * {@link #NO_PREVIOUS} when there is none: then the take keeps the list's first set.
     */
    private long predecessorOfUnsharedSet(int c, int s, long set, long word0) {
        long previous = pages.entry(set);
        long link = PageMapEntry.link(word0);
        for (int i = 0; i < LINE_SEARCH && link != 0; i++) {
            long candidate = pages.pageOfLink(link, "partial-list link of the slab set at page", set);
            long candidateEntry = setHeadEntry(candidate, c, s, "partial-list link of the slab set at page", set);
            if (!lineMateOwned(candidate)) {
                return previous;
            }
            previous = candidateEntry;
            link = PageMapEntry.link(pages.word0At(candidateEntry));
        }
        return NO_PREVIOUS;
    }

    /** Whether the page sharing {@code set}'s page-map line (32-byte entries, two per line) heads a set someone owns. */
    private boolean lineMateOwned(long set) {
        long mate = set ^ 1;
        if (mate >= pages.pageCount()) {
            return false;
        }
        long word0 = pages.word0(mate);
        return PageMapEntry.kind(word0) == SLAB && PageMapEntry.owner(word0) != 0;
    }

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
     * so the map holds still. Sets of live owners stay owned; sets of dead owners are adopted
     * (owner cleared with a fence, R collected, registry entry cleared) and listed like any.
     */
    public void rebuild(int c, int s) {
        long headOffset = classOffset(c, s, CLASS_PARTIAL_HEAD);
        memory.putLong(headOffset, 0);
        long[] sets = {0};
        long[] used = {0};
        PageMapWalker.walk(pages, layout, (page, word0, ignored) -> {
            if (PageMapEntry.kind(word0) == SLAB && PageMapEntry.sizeClass(word0) == c && PageMapEntry.stripe(word0) == s) {
                markSetPages(c, page, PageMapEntry.slabWord0(SLAB_PAGE, c, s, 0));
                sets[0]++;
                long entry = pages.entry(page);
                int owner = PageMapEntry.owner(word0);
                if (owner != 0 && owner <= PageMapEntry.MAX_OWNER && slotAlive.test(owner - 1)) {
                    if (PageMapEntry.link(word0) != 0) {
                        pages.putWord0At(entry, PageMapEntry.withLink(word0, 0));
                    }
                    return true; // a live owner's set: off the lists and the counters
                }
                if (owner != 0) {
                    // adoption: the owner died (or its slot is free); its blocks stay allocated
                    word0 = PageMapEntry.withOwner(PageMapEntry.withLink(word0, 0), 0);
                    pages.putWord0VolatileAt(entry, word0);
                    if (owner <= PageMapEntry.MAX_OWNER) {
                        registry.clearSet(owner - 1, page);
                    }
                }
                // an unowned set has A = 0 (a release killed before it cleared A leaves it set)
                if (pages.word3At(entry) != 0) {
                    pages.putWord3At(entry, 0);
                }
                OwnedSet.collect(memory, entry);
                long word1 = pages.word1At(entry);
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
