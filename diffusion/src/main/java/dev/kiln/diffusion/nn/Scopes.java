package dev.kiln.diffusion.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;

import ai.djl.ndarray.NDList;

import java.util.function.Supplier;

/**
 * Runs a block of NDArray code in its own {@link NDScope}, so every intermediate it creates is closed when it
 * returns; only the result survives and is handed to the enclosing scope (if any).
 *
 * <p>Closing intermediates is safe under autograd: PyTorch's graph keeps its own references to what backward
 * needs, so gradients still flow while the Java handles are released.
 */
public final class Scopes {

    private Scopes() {
    }

    /** Evaluates {@code body} in a fresh scope and returns its result, owned by the enclosing scope. */
    public static NDArray scoped(Supplier<NDArray> body) {
        NDArray out;
        try (NDScope scope = new NDScope()) {
            out = body.get();
            NDScope.unregister(out);
        }
        NDScope.register(out);
        return out;
    }

    /** Like {@link #scoped(Supplier)} for a block with several results (e.g. a down block's skip tensors). */
    public static NDList scopedAll(Supplier<NDList> body) {
        NDList out;
        try (NDScope scope = new NDScope()) {
            out = body.get();
            NDScope.unregister(out);
        }
        out.forEach(NDScope::register);
        return out;
    }
}
