//! layerlaw-io (work in progress).
