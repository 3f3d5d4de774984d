package dev.kiln.diffusion.train.optim;

import ai.djl.ndarray.NDArray;

import java.util.Map;

/**
 * A torch-style parameter group: a name (sd-scripts logs {@code lr/<name>}), this step's learning rate and the
 * parameters keyed by a stable name (the optimizer keeps its state under that name).
 */
public record ParamGroup(String name, double lr, Map<String, NDArray> params) {

    public ParamGroup {
        params = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(params));
    }

    /** The same group at another learning rate (what a scheduler step does). */
    public ParamGroup withLr(double newLr) {
        return new ParamGroup(name, newLr, params);
    }
}
