package dev.kiln.diffusion.scheduler;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Sampler behaviour that needs no golden file: exactness with a perfect noise predictor, timestep tables
 * worked out from diffusers' formulas, the sd-scripts name registry and config parsing.
 */
class SamplerTest {

    private static final Shape SHAPE = new Shape(1, 4, 3, 5);

    /**
     * With a model that predicts the true noise, DDIM (eta 0), Euler and DPM-Solver++ follow the exact
     * probability-flow trajectory: after every step the sample is the clean data plus that noise at the next
     * noise level, and the last step lands on the data.
     */
    @ParameterizedTest
    @ValueSource(strings = {"euler", "lms", "dpmsolver++", "dpmsolver++_karras"})
    void perfectNoisePredictionFollowsTheTrajectoryToTheData(String name) {
        SchedulerConfig config = SchedulerConfig.kohya(false);
        try (NDManager manager = NDManager.newBaseManager();
             Sampler sampler = Samplers.create(name, config, 7)) {
            NDArray x0 = NoiseSource.seeded(1).gaussian(manager, SHAPE).mul(0.5f);
            NDArray eps = NoiseSource.seeded(2).gaussian(manager, SHAPE);
            boolean varianceExploding = !(sampler instanceof DpmSolverMultistepSampler);
            // start on the trajectory at the first noise level (x0 is not quite drowned out there)
            NDArray x = varianceExploding ? x0.add(eps.mul(sigma(sampler, 0)))
                    : onTrajectory(x0, eps, sigma(sampler, 0));
            for (int i = 0; i < sampler.steps(); i++) {
                x = sampler.step(eps, i, x, noMoreNoise()).prevSample();
                float next = sigma(sampler, i + 1);
                NDArray expected = varianceExploding ? x0.add(eps.mul(next)) : onTrajectory(x0, eps, next);
                assertClose(expected, x, 2e-5f, name + " step " + i);
            }
            assertClose(x0, x, 2e-5f, name + " final sample");
        }
    }

    /**
     * Second-order check: for Gaussian data N(0, s^2) the ideal denoiser and the exact probability-flow ODE
     * solution are known in closed form (x_ve(sigma) scales with sqrt(s^2 + sigma^2)). Up to the last non-zero
     * noise level, DPM-Solver++(2M) must be far closer to it than its first-order form (which is off by 6.8% at
     * 10 steps and 5.0% at 20 in this setting; a wrong weight on the second-order term is off by 2.4% or more).
     */
    @Test
    void dpmSolverPlusPlus2mUsesItsSecondOrderCorrection() {
        assertTrue(gaussianDataError(10) < 0.015, "10 steps: " + gaussianDataError(10));
        assertTrue(gaussianDataError(20) < 0.008, "20 steps: " + gaussianDataError(20));
    }

    /** On the same Gaussian-data ODE, 4th-order LMS lands far closer to the exact endpoint than Euler. */
    @Test
    void lmsIsMoreAccurateThanEuler() {
        double lms = varianceExplodingError("lms", 12);
        double euler = varianceExplodingError("euler", 12);
        assertTrue(lms < euler / 3, "LMS " + lms + " vs Euler " + euler);
    }

    /** Final relative error of a sigma-space sampler with the ideal denoiser of N(0, 0.25) data. */
    private static double varianceExplodingError(String name, int steps) {
        double s2 = 0.25;
        try (NDManager manager = NDManager.newBaseManager();
             Sampler sampler = Samplers.create(name, SchedulerConfig.kohya(false), steps)) {
            float sigmaMax = sigma(sampler, 0);
            float[] start = {1f, -2f, 0.5f};
            NDArray x = manager.create(start);
            for (int i = 0; i < steps; i++) {
                double sigma = sigma(sampler, i);
                NDArray eps = x.mul((float) (sigma / (s2 + sigma * sigma)));
                x = sampler.step(eps, i, x, noMoreNoise()).prevSample();
            }
            double exactScale = Math.sqrt(s2 / (s2 + (double) sigmaMax * sigmaMax));
            float[] got = x.toFloatArray();
            double error = 0;
            for (int k = 0; k < got.length; k++) {
                error = Math.max(error, Math.abs(got[k] - start[k] * exactScale) / Math.abs(start[k] * exactScale));
            }
            return error;
        }
    }

    /** Relative error at the last non-zero sigma against the exact ODE solution, for data with s = 0.5. */
    private static double gaussianDataError(int steps) {
        double s2 = 0.25;
        NoiseSchedule schedule = NoiseSchedule.of(SchedulerConfig.kohya(false));
        try (NDManager manager = NDManager.newBaseManager();
             Sampler sampler = Samplers.create("dpmsolver++", schedule, steps)) {
            DpmSolverMultistepSampler dpm = (DpmSolverMultistepSampler) sampler;
            double sigmaMax = dpm.sigma(0);
            float[] start = {1f, -2f, 0.5f}; // x_ve at sigma_max
            NDArray x = manager.create(start).div((float) Math.sqrt(1 + sigmaMax * sigmaMax));
            for (int i = 0; i < steps - 1; i++) {
                double sigma = dpm.sigma(i);
                NDArray xVe = x.mul((float) Math.sqrt(1 + sigma * sigma));
                NDArray eps = xVe.mul((float) (sigma / (s2 + sigma * sigma)));
                x = sampler.step(eps, i, x, noMoreNoise()).prevSample();
            }
            double last = dpm.sigma(steps - 1);
            double exactScale = Math.sqrt((s2 + last * last) / (s2 + sigmaMax * sigmaMax));
            float[] got = x.mul((float) Math.sqrt(1 + last * last)).toFloatArray();
            double error = 0;
            for (int k = 0; k < got.length; k++) {
                error = Math.max(error, Math.abs(got[k] - start[k] * exactScale) / Math.abs(start[k] * exactScale));
            }
            return error;
        }
    }

    @Test
    void ddimWithPerfectPredictionStaysOnTheTrajectory() {
        SchedulerConfig config = SchedulerConfig.kohya(false);
        NoiseSchedule schedule = NoiseSchedule.of(config);
        try (NDManager manager = NDManager.newBaseManager();
             Sampler ddim = Samplers.create("ddim", schedule, 10)) {
            // kohya's DDIM: leading spacing without offset, final alpha 1, x0 clipped to [-1, 1]
            assertArrayEquals(new double[] {900, 800, 700, 600, 500, 400, 300, 200, 100, 0}, ddim.timesteps());
            NDArray x0 = NoiseSource.seeded(3).gaussian(manager, SHAPE).clip(-1, 1);
            NDArray eps = NoiseSource.seeded(4).gaussian(manager, SHAPE);
            NDArray x = noised(schedule, x0, eps, 900);
            for (int i = 0; i < 10; i++) {
                x = ddim.step(eps, i, x, noMoreNoise()).prevSample();
                int prev = 900 - 100 * (i + 1);
                NDArray expected = prev >= 0 ? noised(schedule, x0, eps, prev) : x0;
                assertClose(expected, x, 2e-5f, "DDIM step " + i);
            }
        }
    }

    @Test
    void kohyaDdimClipsThePredictedSampleButADiffusersConfigMayNot() throws Exception {
        SchedulerConfig noClip = SchedulerConfig.fromJson(new ObjectMapper().readTree(
                "{\"beta_schedule\":\"scaled_linear\",\"beta_start\":0.00085,\"beta_end\":0.012,"
                        + "\"clip_sample\":false}"));
        try (NDManager manager = NDManager.newBaseManager();
             Sampler clipped = Samplers.create("ddim", SchedulerConfig.kohya(false), 4);
             Sampler unclipped = Samplers.create("ddim", noClip, 4)) {
            NDArray sample = manager.full(SHAPE, 3f);
            NDArray prediction = manager.zeros(SHAPE);
            // eps = 0 means x0 = x / sqrt(alpha_bar) > 3: clipped to 1 by kohya's DDIM only
            assertEquals(1f, clipped.step(prediction, 0, sample, noMoreNoise()).predOriginalSample().max().getFloat());
            assertTrue(unclipped.step(prediction, 0, sample, noMoreNoise()).predOriginalSample().min().getFloat() > 3f);
        }
    }

    @Test
    void dpmSolverTimestepsFollowDiffusersSpacing() {
        try (Sampler dpm = Samplers.create("dpmsolver++", SchedulerConfig.kohya(false), 4);
             Sampler karras = Samplers.create("dpmsolver++_karras", SchedulerConfig.kohya(false), 5)) {
            // linspace(0, 999, 5) = 0, 249.75, 499.5, 749.25, 999 -> rounded half to even, reversed, last dropped
            assertArrayEquals(new double[] {999, 749, 500, 250}, dpm.timesteps());
            double[] t = karras.timesteps();
            // Karras sigmas run from sigma_max (t = 999) down to sigma_min (t = 0), bunched at low noise
            assertEquals(999, t[0]);
            assertEquals(0, t[4]);
            for (int i = 1; i < t.length; i++) {
                assertTrue(t[i] < t[i - 1], "descending timesteps " + java.util.Arrays.toString(t));
            }
            assertTrue(t[2] < 500, "Karras spacing spends more steps at low noise: " + java.util.Arrays.toString(t));
        }
    }

    @Test
    void multistepSolverRejectsOutOfOrderSteps() {
        try (NDManager manager = NDManager.newBaseManager();
             Sampler dpm = Samplers.create("dpmsolver++", SchedulerConfig.kohya(false), 4)) {
            NDArray x = manager.zeros(SHAPE);
            assertThrows(IllegalStateException.class, () -> dpm.step(x, 1, x, noMoreNoise()));
        }
    }

    @Test
    void seededNoiseIsReproducibleAndStandardNormal() {
        try (NDManager manager = NDManager.newBaseManager()) {
            Shape big = new Shape(1, 4, 64, 64);
            float[] a = NoiseSource.seeded(42).gaussian(manager, big).toFloatArray();
            float[] b = NoiseSource.seeded(42).gaussian(manager, big).toFloatArray();
            float[] c = NoiseSource.seeded(43).gaussian(manager, big).toFloatArray();
            assertArrayEquals(a, b);
            assertTrue(a[0] != c[0] || a[1] != c[1]);
            double mean = 0;
            double square = 0;
            for (float v : a) {
                mean += v;
                square += v * v;
            }
            mean /= a.length;
            double variance = square / a.length - mean * mean;
            assertEquals(0, mean, 0.03);
            assertEquals(1, variance, 0.03);
        }
    }

    @Test
    void registryKnowsSdScriptsNamesAndRejectsOthersWithTheList() {
        assertTrue(Samplers.names().containsAll(java.util.List.of("ddim", "euler", "k_euler", "euler_a", "k_euler_a",
                "lms", "k_lms", "dpmsolver++")));
        try (Sampler s = Samplers.create(" Euler_A ", SchedulerConfig.kohya(false), 3)) {
            assertEquals("euler_a", s.name());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Samplers.create("plms", SchedulerConfig.kohya(false), 20));
        assertTrue(e.getMessage().contains("'plms'") && e.getMessage().contains("euler_a")
                && e.getMessage().contains("dpmsolver++"), e.getMessage());
        IllegalArgumentException steps = assertThrows(IllegalArgumentException.class,
                () -> Samplers.create("ddim", SchedulerConfig.kohya(false), 0));
        assertTrue(steps.getMessage().contains("steps"), steps.getMessage());
    }

    @Test
    void configParsingNamesTheBadField() throws Exception {
        ObjectMapper json = new ObjectMapper();
        IllegalArgumentException schedule = assertThrows(IllegalArgumentException.class,
                () -> SchedulerConfig.fromJson(json.readTree("{\"beta_schedule\":\"sigmoid\"}")));
        assertTrue(schedule.getMessage().contains("beta_schedule"), schedule.getMessage());
        IllegalArgumentException prediction = assertThrows(IllegalArgumentException.class,
                () -> SchedulerConfig.fromJson(json.readTree("{\"prediction_type\":\"flow\"}")));
        assertTrue(prediction.getMessage().contains("prediction_type"), prediction.getMessage());
        IllegalArgumentException spacing = assertThrows(IllegalArgumentException.class,
                () -> SchedulerConfig.fromJson(json.readTree("{\"timestep_spacing\":\"random\"}")));
        assertTrue(spacing.getMessage().contains("timestep_spacing"), spacing.getMessage());
    }

    @Test
    void zeroTerminalSnrEndsAtZeroSignalAndKeepsTheFirstStep() {
        SchedulerConfig k = SchedulerConfig.kohya(false);
        SchedulerConfig ztsnr = new SchedulerConfig(k.numTrainTimesteps(), k.betaStart(), k.betaEnd(),
                k.betaSchedule(), k.predictionType(), true, null, 0, true, true, 1.0);
        double[] ac = NoiseSchedule.of(ztsnr).alphasCumprod64();
        double[] plain = NoiseSchedule.of(k).alphasCumprod64();
        // values from kohya-behaviour.md section 9.1
        assertEquals(0.0, ac[999], 1e-12);
        assertEquals(plain[0], ac[0], 1e-12);
        assertEquals(0.241019, ac[500], 1e-6);
        assertEquals(1.968e-7, ac[998], 1e-9);
    }

    private static float sigma(Sampler sampler, int i) {
        if (sampler instanceof EulerSampler euler) {
            return euler.sigma(i);
        }
        if (sampler instanceof LmsSampler lms) {
            return lms.sigma(i);
        }
        return ((DpmSolverMultistepSampler) sampler).sigma(i);
    }

    private static NDArray onTrajectory(NDArray x0, NDArray eps, float sigma) {
        // variance-preserving sample with k-diffusion noise level sigma: alpha = 1/sqrt(1+sigma^2)
        float alpha = 1f / (float) Math.sqrt(1 + (double) sigma * sigma);
        return x0.mul(alpha).add(eps.mul(sigma * alpha));
    }

    private static NDArray noised(NoiseSchedule schedule, NDArray x0, NDArray eps, int t) {
        return schedule.addNoise(x0, eps, new long[] {t});
    }

    private static NoiseSource noMoreNoise() {
        return (m, s) -> {
            throw new AssertionError("a deterministic sampler drew noise");
        };
    }

    private static void assertClose(NDArray expected, NDArray actual, float tolerance, String what) {
        float[] e = expected.toFloatArray();
        float[] a = actual.toFloatArray();
        assertEquals(e.length, a.length, what);
        for (int i = 0; i < e.length; i++) {
            float scale = Math.max(1f, Math.abs(e[i]));
            assertEquals(e[i], a[i], tolerance * scale, what + " element " + i);
        }
    }
}
