//! layerlaw-geometry (work in progress).
