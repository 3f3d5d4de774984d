package dev.kiln.diffusion.nn;

/** Accumulates the multiply-add FLOPs (2 per MAC) of the matmul-like layers a {@link Layers} runs. */
public final class FlopCounter {

    private long flops;

    public void add(long n) {
        flops += n;
    }

    public long total() {
        return flops;
    }

    public void reset() {
        flops = 0;
    }
}
