package dev.kiln.diffusion.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The LoRA training loop on the tiny SD 1.5 model over real image files: learning, and exact resume. */
class LoraTrainingTest {

    @TempDir
    Path root;

    private LocalTraining.Options options(Path job, Path resume) {
        return new LocalTraining.Options(job, root, root.resolve("tokenizer"), resume);
    }

    @Test
    void lossGoesDownOnRealImages() {
        // a narrow timestep range keeps the loss comparable from step to step
        Path job = TinyTrainingFixture.writeRun(root, "learn",
                "max_train_steps = 60\nmin_timestep = 400\nmax_timestep = 420\n");
        List<Double> losses = new ArrayList<>();
        TrainingListener listener = new TrainingListener() {
            @Override
            public void step(StepReport report) {
                losses.add(report.loss());
            }
        };
        DiffusionTrainer.Result result = LocalTraining.run(options(job, null), listener, TrainingControl.NONE);
        assertEquals(DiffusionTrainer.Status.COMPLETED, result.status());
        assertEquals(60, result.steps());
        assertEquals(60, losses.size());
        double first = losses.subList(0, 10).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        double last = losses.subList(50, 60).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        System.out.printf("loss first 10 %.5f, last 10 %.5f%n", first, last);
        assertTrue(last < first * 0.9, "loss " + first + " -> " + last);
    }

    @Test
    void twentyStepsEqualTenStepsResumeAndTenMore() {
        // two datasets epochs' worth of batches, accumulation, noise offset, dropouts: every random draw must replay
        Path job = TinyTrainingFixture.writeRun(root, "resume", "max_train_steps = 20\ngradient_accumulation_steps = 2\n"
                + "noise_offset = 0.05\nmultires_noise_iterations = 3\nnetwork_dropout = 0.1\n"
                + "network_args = [\"rank_dropout=0.1\", \"module_dropout=0.1\"]\nmin_snr_gamma = 5\n"
                + "optimizer_type = \"AdamW\"\nlr_scheduler = \"cosine\"\nlr_warmup_steps = 3\n");
        Path state = root.resolve("state-at-10");
        Map<String, float[]> straight;
        try (NDManager manager = NDManager.newBaseManager()) {
            LocalTraining.Prepared p = LocalTraining.prepare(options(job, null), manager, new TrainingListener() { });
            RunOutputs saveAtTen = new RunOutputs() {
                @Override
                public void afterStep(long step, int epoch, TrainingState s, DiffusionTrainer trainer) {
                    if (step == 10) {
                        trainer.saveState(state, s);
                    }
                }
            };
            DiffusionTrainer.Result r = p.trainer().train(p.start(), saveAtTen, new TrainingListener() { },
                    TrainingControl.NONE, manager);
            assertEquals(20, r.steps());
            straight = values(p.trainer().allParameters());
        }
        Map<String, float[]> resumed;
        try (NDManager manager = NDManager.newBaseManager()) {
            LocalTraining.Prepared p = LocalTraining.prepare(options(job, state), manager, new TrainingListener() { });
            assertEquals(10, p.start().step());
            List<Long> steps = new ArrayList<>();
            DiffusionTrainer.Result r = p.trainer().train(p.start(), RunOutputs.NONE, new TrainingListener() {
                @Override
                public void step(StepReport report) {
                    steps.add(report.step());
                }
            }, TrainingControl.NONE, manager);
            assertEquals(20, r.steps());
            assertEquals(11L, steps.get(0));
            resumed = values(p.trainer().allParameters());
        }
        assertEquals(straight.keySet(), resumed.keySet());
        boolean changed = false;
        for (String key : straight.keySet()) {
            assertArrayEquals(straight.get(key), resumed.get(key), 0f, key);
        }
        for (float[] v : straight.values()) {
            for (float x : v) {
                changed |= x != 0;
            }
        }
        assertTrue(changed);
    }

    @Test
    void aJobWithoutASeedResumesWithTheSeedItStartedWith() throws java.io.IOException {
        Path job = TinyTrainingFixture.writeRun(root, "noseed", "max_train_steps = 4\n");
        java.nio.file.Files.writeString(job, java.nio.file.Files.readString(job).replace("seed = 7\n", ""));
        Path state = root.resolve("state-at-2");
        Map<String, float[]> straight;
        long seed;
        try (NDManager manager = NDManager.newBaseManager()) {
            LocalTraining.Prepared p = LocalTraining.prepare(options(job, null), manager, new TrainingListener() { });
            seed = p.start().seed();
            p.trainer().train(p.start(), new RunOutputs() {
                @Override
                public void afterStep(long step, int epoch, TrainingState s, DiffusionTrainer trainer) {
                    if (step == 2) {
                        trainer.saveState(state, s);
                    }
                }
            }, new TrainingListener() { }, TrainingControl.NONE, manager);
            straight = values(p.trainer().allParameters());
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            LocalTraining.Prepared p = LocalTraining.prepare(options(job, state), manager, new TrainingListener() { });
            assertEquals(seed, p.trainer().setup().settings().seed());
            p.trainer().train(p.start(), RunOutputs.NONE, new TrainingListener() { }, TrainingControl.NONE, manager);
            Map<String, float[]> resumed = values(p.trainer().allParameters());
            for (String key : straight.keySet()) {
                assertArrayEquals(straight.get(key), resumed.get(key), 0f, key);
            }
        }
    }

    @Test
    void networkWeightsContinueFromASavedLora() throws java.io.IOException {
        Path first = TinyTrainingFixture.writeRun(root, "first", "max_train_steps = 2\noutput_name = \"first\"\n");
        LocalTraining.run(options(first, null), new TrainingListener() { }, TrainingControl.NONE);
        Path saved = root.resolve("outputs/first/first.safetensors");
        Path second = root.resolve("jobs/second/job.toml");
        java.nio.file.Files.createDirectories(second.getParent());
        java.nio.file.Files.writeString(second, TinyTrainingFixture.job("max_train_steps = 2\n"
                + "network_weights = \"outputs/first/first.safetensors\"\n"));
        try (NDManager manager = NDManager.newBaseManager();
             dev.kiln.diffusion.safetensors.SafeTensors file = dev.kiln.diffusion.safetensors.SafeTensors.open(saved)) {
            LocalTraining.Prepared p = LocalTraining.prepare(options(second, null), manager, new TrainingListener() { });
            Map<String, float[]> start = values(p.trainer().allParameters());
            for (Map.Entry<String, float[]> e : start.entrySet()) {
                assertArrayEquals(file.readFloats(e.getKey()), e.getValue(), 0f, e.getKey());
            }
        }
    }

    @Test
    void sampleRequestsGetTheNetworkAsTrainedAtEachSamplePointAndNothingIsRenderedHere() throws java.io.IOException {
        Path job = TinyTrainingFixture.writeRun(root, "requests", "max_train_steps = 4\nsample_every_n_steps = 2\n"
                + "sample_prompts = [\"s c --w 64 --h 64 --s 2 --d 3\", \"r d --n c\"]\n");
        List<Long> steps = new ArrayList<>();
        try (NDManager manager = NDManager.newBaseManager()) {
            LocalTraining.Prepared p = LocalTraining.prepare(options(job, null), manager, new TrainingListener() { },
                    null, (network, prompts, step, epoch) -> {
                        steps.add(step);
                        assertEquals(List.of("s c --w 64 --h 64 --d 3 --s 2 --l 7.5", "r d --n c --w 512 --h 512 --s 30 --l 7.5"),
                                prompts.stream().map(dev.kiln.diffusion.sampling.SamplePrompt::toLine).toList());
                        try (NDManager m = manager.newSubManager()) {
                            // the file holds exactly the weights trained so far, under kohya's names
                            dev.kiln.diffusion.lora.LoraNetwork saved = dev.kiln.diffusion.lora.LoraNetwork.load(network, m);
                            assertFalse(saved.modules().isEmpty());
                        }
                        try (dev.kiln.diffusion.safetensors.SafeTensors file = dev.kiln.diffusion.safetensors.SafeTensors.open(network)) {
                            assertEquals(String.valueOf(step), file.metadata().get("ss_steps"));
                        }
                    });
            p.trainer().train(p.start(), p.outputs(), new TrainingListener() { }, TrainingControl.NONE, manager);
        }
        assertEquals(List.of(2L, 4L), steps);
        assertFalse(java.nio.file.Files.exists(root.resolve("outputs/requests/sample")), "rendered by the requester");
    }

    private static Map<String, float[]> values(Map<String, NDArray> params) {
        Map<String, float[]> out = new LinkedHashMap<>();
        params.forEach((k, v) -> out.put(k, v.toFloatArray()));
        return out;
    }
}
