//! Feature buffers backed by transparent huge pages, as numpy backs its arrays.
//!
//! The separation passes stream every feature once per pass and prefetch the rows they will
//! read next. With 4 KiB pages a row of 1,024 `f32` fills a page, so each row costs a TLB miss
//! and a page walk; with 2 MiB pages a 240 MiB layer needs about 120 TLB entries. On Linux,
//! numpy asks the kernel for huge pages (`madvise(MADV_HUGEPAGE)`) on every allocation of
//! 4 MiB or more; [`vec_with_capacity`] does the same for the buffers layerlaw reads files into.
//! Elsewhere, or when the system has transparent huge pages disabled, it is a plain
//! `Vec::with_capacity`. Measured effect: BENCHMARKS.md (separation fuzziness).

/// Allocations at least this large are advised (numpy's threshold).
pub const HUGE_PAGE_THRESHOLD_BYTES: usize = 4 << 20;

/// An empty `Vec` with room for `len` values whose memory, when it is at least
/// [`HUGE_PAGE_THRESHOLD_BYTES`], is advised to be backed by transparent huge pages (Linux
/// `madvise(MADV_HUGEPAGE)` on the 2 MiB-aligned part, before any page is touched). The advice
/// is a hint: if the kernel declines it, the buffer is an ordinary one.
pub fn vec_with_capacity<T>(len: usize) -> Vec<T> {
    let mut v: Vec<T> = Vec::with_capacity(len);
    let bytes = len.saturating_mul(size_of::<T>());
    if bytes >= HUGE_PAGE_THRESHOLD_BYTES {
        advise_huge_pages(v.as_mut_ptr().cast::<u8>(), bytes);
    }
    v
}

/// Asks for huge pages on the 2 MiB-aligned part of `[start, start + bytes)`.
#[cfg(target_os = "linux")]
fn advise_huge_pages(start: *mut u8, bytes: usize) {
    const HUGE: usize = 2 << 20;
    let begin = (start as usize).next_multiple_of(HUGE);
    let end = (start as usize + bytes) / HUGE * HUGE;
    if end > begin {
        // SAFETY: the range lies inside the allocation just made (not yet touched); madvise
        // with MADV_HUGEPAGE only changes how the kernel backs it and fails harmlessly (its
        // result is ignored) where transparent huge pages are unavailable.
        unsafe {
            libc::madvise(begin as *mut libc::c_void, end - begin, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_start: *mut u8, _bytes: usize) {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The buffer behaves as an ordinary `Vec` whatever the kernel did with the advice (whether
    /// it granted huge pages depends on the system's THP settings, so it is not asserted).
    #[test]
    fn buffers_are_ordinary_vecs() {
        for len in [0usize, 3, (8 << 20) / 4] {
            let mut v: Vec<f32> = vec_with_capacity(len);
            assert!(v.capacity() >= len);
            v.extend((0..len).map(|i| i as f32));
            assert_eq!(v.len(), len);
            assert!(v.iter().enumerate().all(|(i, &x)| x == i as f32));
        }
    }
}
