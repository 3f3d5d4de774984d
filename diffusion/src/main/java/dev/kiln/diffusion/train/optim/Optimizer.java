package dev.kiln.diffusion.train.optim;

import ai.djl.ndarray.NDArray;

import java.util.List;
import java.util.Map;

/**
 * An optimizer with torch semantics: {@link #step} updates every parameter that has a gradient, in place, using each
 * group's current learning rate. Parameters without a gradient (absent from {@code grads}) are left untouched, as
 * torch does for {@code p.grad is None}. State is kept per parameter name, outside any NDScope.
 */
public interface Optimizer extends AutoCloseable {

    /** One optimizer step; {@code grads} maps parameter names to gradients (not modified). */
    void step(List<ParamGroup> groups, Map<String, NDArray> grads);

    /** sd-scripts' {@code ss_optimizer} value, e.g. {@code torch.optim.adamw.AdamW(weight_decay=0.1)}. */
    String description();

    /**
     * Everything the optimizer keeps between steps, for an exact resume: tensors keyed {@code <param>#<slot>} (live
     * arrays owned by the optimizer: copy them before the next step) and scalars such as per-parameter step counts.
     */
    OptimizerState state();

    /** Replaces the state with {@code state} (as {@link #state} returned it, possibly read back from a file). */
    void restore(OptimizerState state);

    /** Releases the optimizer state. */
    @Override
    void close();
}
