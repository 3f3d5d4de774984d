package dev.kiln.diffusion.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.kiln.diffusion.embedding.Embedding;
import dev.kiln.diffusion.model.StableDiffusionLoader;
import dev.kiln.diffusion.model.StableDiffusionModel;
import dev.kiln.diffusion.safetensors.DType;
import dev.kiln.diffusion.safetensors.SafeTensors;
import dev.kiln.diffusion.tokenizer.ClipTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Textual Inversion on the tiny SD 1.5 model over the real photos: the loss goes down, only the new rows change,
 * the saved {@code emb_params} file loads back, and a resumed run equals an uninterrupted one.
 */
class TextualInversionTrainingTest {

    @TempDir
    Path root;

    private static final String TI = "token_string = \"zq\"\nnum_vectors_per_token = 2\ninit_word = \"s\"\n"
            + "learning_rate = 0.05\ncaption_prefix = \"zq\"\n";

    private LocalTraining.Options options(Path job, Path resume) {
        return new LocalTraining.Options(job, root, root.resolve("tokenizer"), resume);
    }

    @Test
    void learnsOnlyTheNewRowsAndSavesEmbParams() {
        Path job = TinyTrainingFixture.writeJob(root, "ti", TinyTrainingFixture.methodJob("textual_inversion",
                TI + "max_train_steps = 24\nmin_timestep = 400\nmax_timestep = 420\nsave_precision = \"float\"\n",
                TinyTrainingFixture.PHOTOS_SUBSET));
        List<Double> losses = new ArrayList<>();
        try (NDManager manager = NDManager.newBaseManager()) {
            LocalTraining.Prepared p = LocalTraining.prepare(options(job, null), manager, new TrainingListener() { });
            StableDiffusionModel model = p.trainer().setup().model();
            Map<String, float[]> before = new LinkedHashMap<>();
            model.textEncoderWeights().forEach((k, v) -> before.put("te." + k, v.toFloatArray()));
            model.unetWeights().forEach((k, v) -> before.put("unet." + k, v.toFloatArray()));
            model.vaeWeights().forEach((k, v) -> before.put("vae." + k, v.toFloatArray()));
            TextualInversionMethod method = (TextualInversionMethod) p.trainer().method();
            assertEquals(List.of("zq", "zq1"), method.tokens());
            float[] initial;
            try (NDArray v = method.vectors()) {
                initial = v.toFloatArray();
            }
            // init_word "s" (id 28) copied into both new rows
            float[] sRow = java.util.Arrays.copyOfRange(before.get("te.text_model.embeddings.token_embedding.weight"),
                    28 * 32, 29 * 32);
            assertArrayEquals(sRow, java.util.Arrays.copyOfRange(initial, 0, 32), 0f);
            assertArrayEquals(sRow, java.util.Arrays.copyOfRange(initial, 32, 64), 0f);

            double lossBefore = fixedBatchLoss(p, manager);
            DiffusionTrainer.Result r = p.trainer().train(p.start(), p.outputs(), new TrainingListener() {
                @Override
                public void step(StepReport report) {
                    losses.add(report.loss());
                }
            }, TrainingControl.NONE, manager);
            assertEquals(24, r.steps());
            double afterLoss = fixedBatchLoss(p, manager);
            System.out.printf("TI fixed-batch loss %.5f -> %.5f; steps %s%n", lossBefore, afterLoss, losses);
            assertTrue(afterLoss < lossBefore * 0.99, "fixed-batch loss " + lossBefore + " -> " + afterLoss);

            Map<String, float[]> after = new LinkedHashMap<>();
            model.textEncoderWeights().forEach((k, v) -> after.put("te." + k, v.toFloatArray()));
            model.unetWeights().forEach((k, v) -> after.put("unet." + k, v.toFloatArray()));
            model.vaeWeights().forEach((k, v) -> after.put("vae." + k, v.toFloatArray()));
            assertEquals(before.keySet(), after.keySet());
            before.forEach((k, v) -> assertArrayEquals(v, after.get(k), 0f, k));
            // the trained table: the vocabulary's rows bit-identical, the new rows moved
            float[] table = method.stateTensors().get("token_embedding").toFloatArray();
            float[] vocabulary = before.get("te.text_model.embeddings.token_embedding.weight");
            assertArrayEquals(vocabulary, java.util.Arrays.copyOf(table, vocabulary.length), 0f);
            float[] trained;
            try (NDArray v = method.vectors()) {
                trained = v.toFloatArray();
            }
            assertFalse(java.util.Arrays.equals(initial, trained));

            Path file = root.resolve("outputs/ti/zq.safetensors");
            try (SafeTensors st = SafeTensors.open(file)) {
                assertEquals(java.util.Set.of("emb_params"), st.names());
                assertArrayEquals(new long[] {2, 32}, st.info("emb_params").shape());
                assertEquals(DType.F32, st.info("emb_params").dtype());
                assertArrayEquals(trained, st.readFloats("emb_params"), 0f);
                assertEquals("stable-diffusion-v1/textual-inversion", st.metadata().get("modelspec.architecture"));
                assertEquals("zq", st.metadata().get("modelspec.title"));
            }
            Embedding loaded = Embedding.load(file, manager);
            assertEquals("zq", loaded.token());
            assertEquals("zq zq1", loaded.replacement());
            assertArrayEquals(trained, loaded.vectors().toFloatArray(), 0f);
        }
    }

    @Test
    void sixStepsEqualThreeStepsResumeAndThreeMore() {
        Path job = TinyTrainingFixture.writeJob(root, "ti-resume", TinyTrainingFixture.methodJob("textual_inversion",
                TI + "max_train_steps = 6\ngradient_accumulation_steps = 2\nnoise_offset = 0.05\n"
                        + "optimizer_type = \"AdamW\"\nlr_scheduler = \"cosine\"\nlr_warmup_steps = 2\n",
                TinyTrainingFixture.PHOTOS_SUBSET));
        Map<String, float[]> straight = resumeIdentity(job, 3, 6);
        assertTrue(straight.containsKey("token_embedding"));
    }

    /** Trains {@code total} steps saving the state at {@code half}, resumes from it, and compares every state tensor. */
    private Map<String, float[]> resumeIdentity(Path job, int half, int total) {
        Path state = root.resolve("state-at-" + half);
        Map<String, float[]> straight;
        try (NDManager manager = NDManager.newBaseManager()) {
            LocalTraining.Prepared p = LocalTraining.prepare(options(job, null), manager, new TrainingListener() { });
            p.trainer().train(p.start(), new RunOutputs() {
                @Override
                public void afterStep(long step, int epoch, TrainingState s, DiffusionTrainer trainer) {
                    if (step == half) {
                        trainer.saveState(state, s);
                    }
                }
            }, new TrainingListener() { }, TrainingControl.NONE, manager);
            straight = values(p.trainer().allParameters());
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            LocalTraining.Prepared p = LocalTraining.prepare(options(job, state), manager, new TrainingListener() { });
            assertEquals(half, p.start().step());
            DiffusionTrainer.Result r = p.trainer().train(p.start(), RunOutputs.NONE, new TrainingListener() { },
                    TrainingControl.NONE, manager);
            assertEquals(total, r.steps());
            Map<String, float[]> resumed = values(p.trainer().allParameters());
            assertEquals(straight.keySet(), resumed.keySet());
            straight.forEach((k, v) -> assertArrayEquals(v, resumed.get(k), 0f, k));
        }
        return straight;
    }

    @Test
    void templatesReplaceTheWholeCaptionAndExistingTokensAreRefused() {
        Path job = TinyTrainingFixture.writeJob(root, "ti-tmpl", TinyTrainingFixture.methodJob("textual_inversion",
                TI + "max_train_steps = 1\nuse_object_template = true\n", TinyTrainingFixture.PHOTOS_SUBSET));
        try (NDManager manager = NDManager.newBaseManager()) {
            LocalTraining.Prepared p = LocalTraining.prepare(options(job, null), manager, new TrainingListener() { });
            Map<String, List<String>> replacements = p.trainer().method().captionReplacements();
            assertEquals(List.of(""), new ArrayList<>(replacements.keySet()));
            assertEquals(27, replacements.get("").size());
            assertEquals("a photo of a zq zq1", replacements.get("").get(0));
            ClipTokenizer tokenizer = p.trainer().method().tokenizer();
            assertArrayEquals(new int[] {1000, 1001, 28}, tokenizer.encode("zq zq1 s"));
        }
        // "!" is a whole entry of the letter vocabulary: sd-scripts refuses a token_string the tokenizer has
        Path taken = TinyTrainingFixture.writeJob(root, "ti-taken", TinyTrainingFixture.methodJob("textual_inversion",
                TI.replace("token_string = \"zq\"", "token_string = \"!\"") + "max_train_steps = 1\n",
                TinyTrainingFixture.PHOTOS_SUBSET));
        try (NDManager manager = NDManager.newBaseManager()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> LocalTraining.prepare(options(taken, null), manager, new TrainingListener() { }));
            assertTrue(e.getMessage().contains("already has the token"), e.getMessage());
        }
    }

    /**
     * The mean loss over the first epoch's batches with the noise and timesteps of the run's first micro-batch:
     * the same draws before and after training, so a change is the embedding's doing.
     */
    static double fixedBatchLoss(LocalTraining.Prepared p, NDManager manager) {
        List<dev.kiln.model.dataset.BatchSchedule.Batch> batches = new dev.kiln.model.dataset.BatchSchedule(
                p.plan().datasets().get(0), 0, p.start().seed()).epoch(1);
        double sum = 0;
        for (dev.kiln.model.dataset.BatchSchedule.Batch b : batches) {
            sum += p.trainer().forwardOnly(b, manager);
        }
        return sum / batches.size();
    }

    static Map<String, float[]> values(Map<String, NDArray> params) {
        Map<String, float[]> out = new LinkedHashMap<>();
        params.forEach((k, v) -> out.put(k, v.toFloatArray()));
        return out;
    }
}
