package dev.kiln.diffusion.scheduler;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Random;

/**
 * Where samplers get their N(0,1) noise: a seeded generator in production, recorded tensors in tests, so the
 * stochastic samplers can be replayed exactly.
 */
@FunctionalInterface
public interface NoiseSource {

    /** A float32 tensor of standard normal values with this shape, owned by {@code manager}. */
    NDArray gaussian(NDManager manager, Shape shape);

    /**
     * A reproducible source: the same seed gives the same values on every machine and engine, because values
     * come from {@link java.util.Random} (whose algorithm is fixed by its specification), not from the
     * engine's generator.
     */
    static NoiseSource seeded(long seed) {
        Random random = new Random(seed);
        return (manager, shape) -> {
            long size = shape.size();
            if (size > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("noise shape " + shape + " is too large");
            }
            float[] values = new float[(int) size];
            synchronized (random) {
                for (int i = 0; i < values.length; i++) {
                    values[i] = (float) random.nextGaussian();
                }
            }
            return manager.create(values, shape);
        };
    }
}
