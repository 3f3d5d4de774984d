package dev.kiln.diffusion.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** sd-scripts' noise options on Java-drawn noise: reproducible per position, and each option's effect. */
class NoiseDrawTest {

    private static final long[] SHAPE = {2, 4, 8, 8};

    private static NoiseDraw draw(NoiseOptions o, float[] latents, long step) {
        return NoiseDraw.draw(o, SHAPE, latents, StepRandom.NOISE.at(7, step, 0), StepRandom.TIMESTEPS.at(7, step, 0));
    }

    @Test
    void theSamePositionDrawsTheSameNumbersAndAnotherDoesNot() {
        float[] latents = new float[512];
        NoiseDraw a = draw(NoiseOptions.DEFAULT, latents, 3);
        NoiseDraw b = draw(NoiseOptions.DEFAULT, latents, 3);
        NoiseDraw c = draw(NoiseOptions.DEFAULT, latents, 4);
        assertArrayEquals(a.noise(), b.noise());
        assertArrayEquals(a.timesteps(), b.timesteps());
        assertTrue(!Arrays.equals(a.noise(), c.noise()));
        assertTrue(a.noise() == a.inputNoise(), "no input perturbation by default");
    }

    @Test
    void timestepsStayInTheConfiguredRange() {
        NoiseOptions o = new NoiseOptions(0, false, null, 0, 0.3, 0, false, 200, 210);
        for (long step = 0; step < 50; step++) {
            for (long t : draw(o, new float[512], step).timesteps()) {
                assertTrue(t >= 200 && t < 210, "t=" + t);
            }
        }
        NoiseOptions fixed = new NoiseOptions(0, false, null, 0, 0.3, 0, false, 500, 500);
        assertArrayEquals(new long[] {500, 500}, draw(fixed, new float[512], 0).timesteps());
    }

    @Test
    void noiseOffsetShiftsWholeChannels() {
        NoiseOptions o = new NoiseOptions(0.5, false, null, 0, 0.3, 0, false, 0, 1000);
        float[] plain = draw(NoiseOptions.DEFAULT, new float[512], 1).noise();
        float[] offset = draw(o, new float[512], 1).noise();
        // the same ε, plus one constant per (sample, channel)
        for (int bc = 0; bc < 8; bc++) {
            float shift = offset[bc * 64] - plain[bc * 64];
            for (int i = 0; i < 64; i++) {
                assertEquals(shift, offset[bc * 64 + i] - plain[bc * 64 + i], 1e-5);
            }
        }
    }

    @Test
    void multiresNoiseIsRescaledToUnitStd() {
        NoiseOptions o = new NoiseOptions(0, false, null, 6, 0.3, 0, false, 0, 1000);
        float[] noise = draw(o, new float[512], 2).noise();
        double mean = Arrays.stream(box(noise)).average().orElseThrow();
        double var = Arrays.stream(box(noise)).map(v -> (v - mean) * (v - mean)).sum() / (noise.length - 1);
        assertEquals(1.0, Math.sqrt(var), 1e-5);
    }

    @Test
    void bilinearUpsamplingMatchesTorchAlignCornersFalse() {
        // torch.nn.Upsample(size=(4,4), mode="bilinear")(tensor([[[[1,2],[3,4]]]])) first row: 1, 1.25, 1.75, 2
        float[] out = new float[16];
        NoiseDraw.upsampleAdd(new float[] {1, 2, 3, 4}, 0, 2, 2, out, 0, 4, 4, 1f);
        assertArrayEquals(new float[] {1f, 1.25f, 1.75f, 2f}, Arrays.copyOfRange(out, 0, 4), 1e-6f);
        assertArrayEquals(new float[] {3f, 3.25f, 3.75f, 4f}, Arrays.copyOfRange(out, 12, 16), 1e-6f);
    }

    @Test
    void inputPerturbationLeavesTheTargetNoise() {
        NoiseOptions o = new NoiseOptions(0, false, null, 0, 0.3, 0.1, false, 0, 1000);
        NoiseDraw d = draw(o, new float[512], 5);
        assertArrayEquals(draw(NoiseOptions.DEFAULT, new float[512], 5).noise(), d.noise());
        assertNotEquals(d.noise()[0], d.inputNoise()[0]);
    }

    @Test
    void generatorsDifferByPurpose() {
        SplittableRandom a = StepRandom.NOISE.at(1, 2, 3);
        SplittableRandom b = StepRandom.CAPTION.at(1, 2, 3);
        assertNotEquals(a.nextLong(), b.nextLong());
    }

    private static double[] box(float[] v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i];
        }
        return out;
    }
}
