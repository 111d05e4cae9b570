//! layerlaw-train (work in progress).
