package dev.kiln.diffusion.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.kiln.diffusion.model.StableDiffusionLoader;
import dev.kiln.diffusion.model.StableDiffusionModel;
import dev.kiln.diffusion.safetensors.SafeTensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DreamBooth and fine-tuning of the tiny SD 1.5 model's own weights over the real photos: the loss goes down, a run
 * resumed halfway equals an uninterrupted one, the text encoder stops at stop_text_encoder_training, and the saved
 * checkpoint (original layout) and diffusers folder load back to the trained tensors.
 */
class FullModelTrainingTest {

    @TempDir
    Path root;

    private static final String REG_SUBSET = "  [[datasets.subsets]]\n  image_dir = \"datasets/reg/1_c\"\n"
            + "  class_tokens = \"c\"\n  is_reg = true\n";

    private LocalTraining.Options options(Path job, Path resume) {
        return new LocalTraining.Options(job, root, root.resolve("tokenizer"), resume);
    }

    /** What one straight run and its resumed twin gave. */
    private record Runs(List<Double> losses, Map<String, float[]> trained, Map<String, float[]> atHalf) {
    }

    /**
     * Trains {@code total} steps with the job's own outputs, saving the state at {@code half}; then resumes from that
     * state and checks every trained tensor equals the straight run's.
     */
    private Runs trainAndResume(Path job, int half, int total) {
        Path state = root.resolve("state-at-" + half);
        List<Double> losses = new ArrayList<>();
        Map<String, float[]> straight;
        Map<String, float[]> atHalf = new LinkedHashMap<>();
        try (NDManager manager = NDManager.newBaseManager()) {
            LocalTraining.Prepared p = LocalTraining.prepare(options(job, null), manager, new TrainingListener() { });
            RunOutputs outputs = p.outputs();
            DiffusionTrainer.Result r = p.trainer().train(p.start(), new RunOutputs() {
                @Override
                public void afterStep(long step, int epoch, TrainingState s, DiffusionTrainer trainer) {
                    outputs.afterStep(step, epoch, s, trainer);
                    if (step == half) {
                        trainer.saveState(state, s);
                        atHalf.putAll(values(trainer.allParameters()));
                    }
                }

                @Override
                public void afterEpoch(long step, int epoch, int epochs, TrainingState s, DiffusionTrainer trainer) {
                    outputs.afterEpoch(step, epoch, epochs, s, trainer);
                }

                @Override
                public void atEnd(long step, int epochs, TrainingState s, DiffusionTrainer trainer) {
                    outputs.atEnd(step, epochs, s, trainer);
                }
            }, new TrainingListener() {
                @Override
                public void step(StepReport report) {
                    losses.add(report.loss());
                }
            }, TrainingControl.NONE, manager);
            assertEquals(total, r.steps());
            straight = values(p.trainer().allParameters());
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            LocalTraining.Prepared p = LocalTraining.prepare(options(job, state), manager, new TrainingListener() { });
            p.trainer().train(p.start(), RunOutputs.NONE, new TrainingListener() { }, TrainingControl.NONE, manager);
            Map<String, float[]> resumed = values(p.trainer().allParameters());
            assertEquals(straight.keySet(), resumed.keySet());
            straight.forEach((k, v) -> assertArrayEquals(v, resumed.get(k), 0f, k));
        }
        return new Runs(losses, straight, atHalf);
    }

    @Test
    void dreamboothLearnsWithPriorPreservationStopsTheTextEncoderResumesAndSavesTheOriginalLayout()
            throws IOException {
        TinyTrainingFixture.writeImages(root.resolve("datasets/reg/1_c"));
        Path job = TinyTrainingFixture.writeJob(root, "db", TinyTrainingFixture.methodJob("dreambooth",
                "learning_rate = 0.0005\nlearning_rate_te = 0.0001\nstop_text_encoder_training = 4\n"
                        + "prior_loss_weight = 0.5\nmax_train_steps = 16\nmin_timestep = 400\nmax_timestep = 420\n"
                        + "output_name = \"db\"\nsave_precision = \"float\"\noptimizer_type = \"AdamW\"\n",
                TinyTrainingFixture.PHOTOS_SUBSET + REG_SUBSET));
        Runs runs = trainAndResume(job, 8, 16);

        double first = runs.losses().subList(0, 4).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        double last = runs.losses().subList(12, 16).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        System.out.printf("dreambooth loss first 4 %.5f, last 4 %.5f%n", first, last);
        assertTrue(last < first * 0.9, "loss " + first + " -> " + last);

        try (NDManager manager = NDManager.newBaseManager()) {
            StableDiffusionModel base = StableDiffusionLoader.load(TinyTrainingFixture.tinySd15(), manager);
            // the text encoder trained for 4 steps, then stayed: the same at step 8 and at the end, not the base's
            String token = "text_encoder.text_model.embeddings.token_embedding.weight";
            assertArrayEquals(runs.atHalf().get(token), runs.trained().get(token), 0f);
            assertFalse(java.util.Arrays.equals(
                    base.textEncoderWeights().get("text_model.embeddings.token_embedding.weight").toFloatArray(),
                    runs.trained().get(token)));
            String conv = "unet.conv_in.weight";
            assertFalse(java.util.Arrays.equals(runs.atHalf().get(conv), runs.trained().get(conv)));

            Path file = root.resolve("outputs/db/db.safetensors");
            try (SafeTensors st = SafeTensors.open(file)) {
                assertTrue(st.names().contains("model.diffusion_model.input_blocks.0.0.weight"));
                assertTrue(st.names().contains("cond_stage_model.transformer.text_model.final_layer_norm.weight"));
                assertTrue(st.names().contains("first_stage_model.encoder.mid.attn_1.q.weight"));
                assertEquals(4, st.info("first_stage_model.encoder.mid.attn_1.q.weight").shape().length);
                assertEquals("stable-diffusion-v1", st.metadata().get("modelspec.architecture"));
                assertEquals("db", st.metadata().get("modelspec.title"));
            }
            StableDiffusionModel saved = StableDiffusionLoader.load(file, manager);
            assertSameWeights(runs.trained(), base, saved);
        }
    }

    @Test
    void finetuneTrainsFromInJsonCaptionsWithTheTextEncoderAndSavesADiffusersFolder() throws IOException {
        Files.createDirectories(root);
        Files.writeString(root.resolve("meta.json"), "{\"astronaut.png\": {\"caption\": \"s c\"},"
                + " \"chelsea.png\": {\"tags\": \"r, d\"}, \"coffee.png\": {\"caption\": \"c\", \"tags\": \"s\"},"
                + " \"rocket.jpg\": {\"caption\": \"r\"}}");
        Path job = TinyTrainingFixture.writeJob(root, "ft", TinyTrainingFixture.methodJob("finetune",
                "learning_rate = 0.0005\ntrain_text_encoder = true\nlearning_rate_te = 0.0001\nmax_train_steps = 10\n"
                        + "min_timestep = 400\nmax_timestep = 420\noutput_name = \"ft\"\nsave_model_as = \"diffusers\"\n"
                        + "gradient_accumulation_steps = 2\nlr_scheduler = \"cosine\"\n",
                "  [[datasets.subsets]]\n  image_dir = \"datasets/photos/5_s c\"\n  metadata_file = \"meta.json\"\n"
                        + "  num_repeats = 4\n"));
        Runs runs = trainAndResume(job, 5, 10);

        double first = runs.losses().subList(0, 3).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        double last = runs.losses().subList(7, 10).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        System.out.printf("finetune loss first 3 %.5f, last 3 %.5f%n", first, last);
        assertTrue(last < first * 0.9, "loss " + first + " -> " + last);

        Path folder = root.resolve("outputs/ft/ft");
        assertTrue(Files.isRegularFile(folder.resolve("model_index.json")));
        try (NDManager manager = NDManager.newBaseManager()) {
            StableDiffusionModel base = StableDiffusionLoader.load(TinyTrainingFixture.tinySd15(), manager);
            StableDiffusionModel saved = StableDiffusionLoader.load(folder, manager);
            assertSameWeights(runs.trained(), base, saved);
            assertFalse(java.util.Arrays.equals(
                    base.textEncoderWeights().get("text_model.final_layer_norm.weight").toFloatArray(),
                    saved.textEncoderWeights().get("text_model.final_layer_norm.weight").toFloatArray()));
        }
    }

    @Test
    void gradientCheckpointingAndPickleFormatsAreRefusedByName() {
        Path job = TinyTrainingFixture.writeJob(root, "gc", TinyTrainingFixture.methodJob("dreambooth",
                "gradient_checkpointing = true\n", TinyTrainingFixture.PHOTOS_SUBSET));
        Path ckpt = TinyTrainingFixture.writeJob(root, "ckpt", TinyTrainingFixture.methodJob("dreambooth",
                "save_model_as = \"ckpt\"\n", TinyTrainingFixture.PHOTOS_SUBSET));
        try (NDManager manager = NDManager.newBaseManager()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> LocalTraining.prepare(options(job, null), manager, new TrainingListener() { }));
            assertTrue(e.getMessage().startsWith("gradient_checkpointing:"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> LocalTraining.prepare(options(ckpt, null), manager, new TrainingListener() { }));
            assertTrue(e.getMessage().startsWith("save_model_as = \"ckpt\""), e.getMessage());
        }
    }

    /** Every tensor of {@code saved} is the trained one (state keys unet.*, text_encoder.*) or else the base's. */
    private static void assertSameWeights(Map<String, float[]> trained, StableDiffusionModel base,
                                          StableDiffusionModel saved) {
        assertEquals(base.unetWeights().keySet(), saved.unetWeights().keySet());
        assertEquals(base.textEncoderWeights().keySet(), saved.textEncoderWeights().keySet());
        assertEquals(base.vaeWeights().keySet(), saved.vaeWeights().keySet());
        saved.unetWeights().forEach((k, v) -> assertArrayEquals(trained.get("unet." + k), v.toFloatArray(), 0f, k));
        saved.textEncoderWeights().forEach((k, v) -> {
            float[] t = trained.get("text_encoder." + k);
            assertArrayEquals(t != null ? t : base.textEncoderWeights().get(k).toFloatArray(), v.toFloatArray(), 0f, k);
        });
        saved.vaeWeights().forEach((k, v) ->
                assertArrayEquals(base.vaeWeights().get(k).toFloatArray(), v.toFloatArray(), 0f, k));
    }

    static Map<String, float[]> values(Map<String, NDArray> params) {
        Map<String, float[]> out = new LinkedHashMap<>();
        params.forEach((k, v) -> out.put(k, v.toFloatArray()));
        return out;
    }
}
