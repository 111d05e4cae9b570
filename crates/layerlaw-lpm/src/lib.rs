//! layerlaw-lpm (work in progress).
