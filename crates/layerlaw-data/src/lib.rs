//! layerlaw-data (work in progress).
