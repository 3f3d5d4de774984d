package dev.kiln.diffusion.train.optim;

import ai.djl.ndarray.NDArray;

import java.util.Map;

/**
 * An optimizer's state between steps.
 *
 * @param tensors per-parameter slots keyed {@code <param>#<slot>} (for example {@code lora_unet_x.lora_up.weight#exp_avg})
 * @param scalars counters and estimates (per-parameter step counts, Prodigy's d, ...)
 */
public record OptimizerState(Map<String, NDArray> tensors, Map<String, Double> scalars) {

    public OptimizerState {
        tensors = Map.copyOf(tensors);
        scalars = Map.copyOf(scalars);
    }
}
