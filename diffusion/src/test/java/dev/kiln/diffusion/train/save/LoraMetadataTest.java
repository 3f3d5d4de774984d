package dev.kiln.diffusion.train.save;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.model.dataset.DatasetPlan;
import dev.kiln.model.dataset.DatasetPlanner;
import dev.kiln.model.job.JobSpec;
import dev.kiln.model.job.JobSpecParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The metadata of a small job parsed from job.toml and planned over in-memory files, checked key by key against
 * the values train_network.py computes for the same arguments and dataset (worked out by hand from §8.6 and the
 * sd-scripts code; the bucket error mean and hashes were printed by numpy / hashlib).
 */
class LoraMetadataTest {
    static final double STARTED = 1739700000.123456;
    static final double SAVED = 1739703600.5;
    static final String OPTIMIZER = "torch.optim.adamw.AdamW(weight_decay=0.1)";

    @TempDir
    Path temp;

    static final String CONFIG_JOB = """
            pretrained_model_name_or_path = "models/sd15.safetensors"
            output_name = "catlora"
            learning_rate = 1e-4
            text_encoder_lr = 5e-5
            network_dim = 8
            network_args = ["conv_dim=4", "conv_alpha=1"]
            max_train_epochs = 3
            seed = 42
            noise_offset = 0.05
            training_comment = "h\u00e9llo"
            min_timestep = 100
            clip_skip = 2
            metadata_author = "Kiln"
            cache_latents_to_disk = true

            [general]
            resolution = 512
            enable_bucket = true
            caption_extension = ".txt"

            [[datasets]]
            batch_size = 2

              [[datasets.subsets]]
              image_dir = "datasets/cats/10_sks cat"
              num_repeats = 10
              class_tokens = "sks cat"

              [[datasets.subsets]]
              image_dir = "datasets/cats/reg/1_cat"
              is_reg = true
              class_tokens = "cat"

              [[datasets.subsets]]
              image_dir = "datasets/cats/empty"
              class_tokens = "nothing"
            """;

    /** 3 training images (square, landscape, portrait without caption) and 2 regularization images. */
    static MemoryDatasetSource cats() {
        return new MemoryDatasetSource()
                .image("datasets/cats/10_sks cat/a.png", 512, 512)
                .text("datasets/cats/10_sks cat/a.txt", "sks cat, Orange fur, sitting\n")
                .image("datasets/cats/10_sks cat/b.png", 768, 512)
                .text("datasets/cats/10_sks cat/b.txt", "sks cat, orange fur")
                .image("datasets/cats/10_sks cat/c.png", 512, 768)
                .image("datasets/cats/reg/1_cat/r1.png", 512, 512)
                .image("datasets/cats/reg/1_cat/r2.png", 512, 512);
    }

    static JobSpec parse(String toml) {
        return JobSpecParser.parse(toml, "job.toml", "cats");
    }

    static DatasetPlan plan(JobSpec job, MemoryDatasetSource source) {
        return DatasetPlanner.plan(job.dataset(), source, job.trainingLength());
    }

    /** A 1.2 MB "base model": byte i is (31 i + 7) mod 251. */
    Path baseModel() throws IOException {
        byte[] b = new byte[1_200_000];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) ((i * 31 + 7) % 251);
        }
        Path file = temp.resolve("sd15-local-copy.safetensors");
        Files.write(file, b);
        return file;
    }

    static final String BUCKET_INFO = "{\"buckets\": {\"0\": {\"resolution\": [384, 640], \"count\": 10}, "
            + "\"1\": {\"resolution\": [512, 512], \"count\": 40}, "
            + "\"2\": {\"resolution\": [640, 384], \"count\": 10}}, "
            + "\"mean_img_ar_error\": 0.046666666666666676}";
    static final String TAG_FREQUENCY = "{\"10_sks cat\": {\"sks cat\": 3, \"orange fur\": 2, \"sitting\": 1}, "
            + "\"1_cat\": {\"cat\": 2}, \"empty\": {}}";

    @Test
    void everyKeyOfAnEpochSaveWithADatasetConfig() throws IOException {
        JobSpec job = parse(CONFIG_JOB);
        LoraMetadata.Run run = new LoraMetadata.Run(job, plan(job, cats()), 123456789L, STARTED, 42, baseModel(),
                null, OPTIMIZER);
        Map<String, String> md = LoraMetadata.forSave(run, 30, 1, SAVED, ZoneOffset.UTC);

        Map<String, String> expected = new LinkedHashMap<>();
        expected.put("ss_session_id", "123456789");
        expected.put("ss_training_started_at", "1739700000.123456");
        expected.put("ss_output_name", "catlora");
        expected.put("ss_learning_rate", "0.0001");
        expected.put("ss_text_encoder_lr", "5e-05");
        expected.put("ss_unet_lr", "None");
        expected.put("ss_num_train_images", "30");
        expected.put("ss_num_validation_images", "0");
        expected.put("ss_num_reg_images", "2");
        // buckets with repeats: 384x640 10, 512x512 10 + 2 reg balanced to 15 each = 40, 640x384 10; batch 2
        expected.put("ss_num_batches_per_epoch", "30");
        expected.put("ss_num_epochs", "3");
        expected.put("ss_gradient_checkpointing", "False");
        expected.put("ss_gradient_accumulation_steps", "1");
        expected.put("ss_max_train_steps", "90");
        expected.put("ss_lr_warmup_steps", "0");
        expected.put("ss_lr_scheduler", "constant");
        expected.put("ss_network_module", "networks.lora");
        expected.put("ss_network_dim", "8");
        expected.put("ss_network_alpha", "1");
        expected.put("ss_network_dropout", "None");
        expected.put("ss_mixed_precision", "no");
        expected.put("ss_full_fp16", "False");
        expected.put("ss_v2", "False");
        expected.put("ss_base_model_version", "sd_v1");
        expected.put("ss_clip_skip", "2");
        expected.put("ss_max_token_length", "None");
        expected.put("ss_cache_latents", "True");
        expected.put("ss_seed", "42");
        expected.put("ss_lowram", "False");
        expected.put("ss_noise_offset", "0.05");
        expected.put("ss_multires_noise_iterations", "None");
        expected.put("ss_multires_noise_discount", "0.3");
        expected.put("ss_adaptive_noise_scale", "None");
        expected.put("ss_zero_terminal_snr", "False");
        expected.put("ss_training_comment", "h\u00e9llo");
        expected.put("ss_sd_scripts_commit_hash", "(unknown)");
        expected.put("ss_optimizer", OPTIMIZER);
        expected.put("ss_max_grad_norm", "1.0");
        expected.put("ss_caption_dropout_rate", "0.0");
        expected.put("ss_caption_dropout_every_n_epochs", "0");
        expected.put("ss_caption_tag_dropout_rate", "0.0");
        expected.put("ss_face_crop_aug_range", "None");
        expected.put("ss_prior_loss_weight", "1.0");
        expected.put("ss_min_snr_gamma", "None");
        expected.put("ss_scale_weight_norms", "None");
        expected.put("ss_ip_noise_gamma", "None");
        expected.put("ss_debiased_estimation", "False");
        expected.put("ss_noise_offset_random_strength", "False");
        expected.put("ss_ip_noise_gamma_random_strength", "False");
        expected.put("ss_loss_type", "l2");
        expected.put("ss_huber_schedule", "snr");
        expected.put("ss_huber_scale", "1.0");
        expected.put("ss_huber_c", "0.1");
        expected.put("ss_fp8_base", "False");
        expected.put("ss_fp8_base_unet", "False");
        expected.put("ss_validation_seed", "None");
        expected.put("ss_validation_split", "0.0");
        expected.put("ss_max_validation_steps", "None");
        expected.put("ss_validate_every_n_epochs", "None");
        expected.put("ss_validate_every_n_steps", "None");
        expected.put("ss_resize_interpolation", "None");
        String subsetFlags = "\"color_aug\": false, \"flip_aug\": false, \"random_crop\": false, "
                + "\"shuffle_caption\": false, \"keep_tokens\": 0, \"keep_tokens_separator\": \"\", "
                + "\"secondary_separator\": null, \"enable_wildcard\": false, \"caption_prefix\": null, "
                + "\"caption_suffix\": null, \"resize_interpolation\": null, ";
        expected.put("ss_datasets", "[{\"is_dreambooth\": true, \"batch_size_per_device\": 2, "
                + "\"num_train_images\": 30, \"num_reg_images\": 2, \"resolution\": [512, 512], "
                + "\"enable_bucket\": true, \"min_bucket_reso\": 256, \"max_bucket_reso\": 1024, "
                + "\"tag_frequency\": " + TAG_FREQUENCY + ", \"bucket_info\": " + BUCKET_INFO + ", "
                + "\"resize_interpolation\": null, \"subsets\": ["
                + "{\"img_count\": 3, \"num_repeats\": 10, " + subsetFlags
                + "\"image_dir\": \"10_sks cat\", \"class_tokens\": \"sks cat\", \"is_reg\": false}, "
                + "{\"img_count\": 2, \"num_repeats\": 1, " + subsetFlags
                + "\"image_dir\": \"1_cat\", \"class_tokens\": \"cat\", \"is_reg\": true}]}]");
        expected.put("ss_tag_frequency", TAG_FREQUENCY);
        expected.put("ss_dataset_dirs", "{\"10_sks cat\": {\"n_repeats\": 10, \"img_count\": 3}}");
        expected.put("ss_network_args", "{\"conv_dim\": \"4\", \"conv_alpha\": \"1\", \"dropout\": null}");
        expected.put("ss_sd_model_hash", "7c04580a");
        expected.put("ss_new_sd_model_hash", "5827eb08a67031bdd98166818c3c5719a1c6158db6ed39960498aa7a73dbda13");
        expected.put("ss_sd_model_name", "sd15.safetensors");
        expected.put("ss_training_finished_at", "1739703600.5");
        expected.put("ss_steps", "30");
        expected.put("ss_epoch", "1");
        expected.put("modelspec.architecture", "stable-diffusion-v1/lora");
        expected.put("modelspec.implementation", "diffusers");
        expected.put("modelspec.title", "catlora");
        expected.put("modelspec.resolution", "512x512");
        expected.put("modelspec.sai_model_spec", "1.0.1");
        expected.put("modelspec.author", "Kiln");
        expected.put("modelspec.date", "2025-02-16T11:00:00");
        expected.put("modelspec.prediction_type", "epsilon");
        expected.put("modelspec.timestep_range", "100,1000");
        expected.put("modelspec.encoder_layer", "2");
        expected.put("modelspec.implementation_version", "sd-scripts/unknown");

        assertEquals(new TreeMap<>(expected), new TreeMap<>(md));
        assertEquals(expected.keySet().stream().toList(), md.keySet().stream().toList(), "sd-scripts' key order");
    }

    @Test
    void stepAndFinalSavesCarryTheirEpochNumbers() {
        JobSpec job = parse(CONFIG_JOB);
        LoraMetadata.Run run = new LoraMetadata.Run(job, plan(job, cats()), 1, STARTED, 42, null, null, OPTIMIZER);
        assertEquals("0", LoraMetadata.forStepSave(run, 20, 0, SAVED).get("ss_epoch"));
        assertEquals("20", LoraMetadata.forStepSave(run, 20, 0, SAVED).get("ss_steps"));
        assertEquals("3", LoraMetadata.forFinalSave(run, 90, SAVED).get("ss_epoch"));
        assertEquals("2", LoraMetadata.forEpochSave(run, 60, 2, SAVED).get("ss_epoch"));
        // no local file: the name as given, no hashes
        Map<String, String> md = LoraMetadata.forFinalSave(run, 90, SAVED);
        assertEquals("models/sd15.safetensors", md.get("ss_sd_model_name"));
        assertFalse(md.containsKey("ss_sd_model_hash"));
        assertFalse(md.containsKey("ss_vae_name"));
    }

    @Test
    void legacyFoldersWriteTheFlatKeys() {
        JobSpec job = parse("""
                pretrained_model_name_or_path = "models/sd15.safetensors"
                resolution = "512,512"
                enable_bucket = true
                train_batch_size = 2
                gradient_accumulation_steps = 2
                caption_extension = ".txt"
                network_alpha = 4
                save_precision = "fp16"
                vae = "vae/kl-f8.safetensors"
                """);
        assertTrue(job.dataset().isLegacy());
        DatasetPlan plan = plan(job, cats());
        LoraMetadata.Run run = new LoraMetadata.Run(job, plan, 7, STARTED, 1234, null, null, OPTIMIZER);
        Map<String, String> md = LoraMetadata.forFinalSave(run, 800, SAVED);

        assertEquals("2", md.get("ss_batch_size_per_device"));
        assertEquals("4", md.get("ss_total_batch_size"));
        assertEquals("(512, 512)", md.get("ss_resolution"));
        assertEquals("False", md.get("ss_color_aug"));
        assertEquals("True", md.get("ss_enable_bucket"));
        assertEquals("False", md.get("ss_bucket_no_upscale"));
        assertEquals("256", md.get("ss_min_bucket_reso"));
        assertEquals("1024", md.get("ss_max_bucket_reso"));
        assertEquals("0", md.get("ss_keep_tokens"));
        assertEquals("{\"10_sks cat\": {\"n_repeats\": 10, \"img_count\": 3}}", md.get("ss_dataset_dirs"));
        assertEquals("{\"1_cat\": {\"n_repeats\": 1, \"img_count\": 2}}", md.get("ss_reg_dataset_dirs"));
        assertEquals("{\"10_sks cat\": {\"sks cat\": 3, \"orange fur\": 2, \"sitting\": 1}, \"1_cat\": {\"cat\": 2}}",
                md.get("ss_tag_frequency"));
        assertEquals(BUCKET_INFO, md.get("ss_bucket_info"));
        assertFalse(md.containsKey("ss_datasets"));
        assertFalse(md.containsKey("ss_network_args"), "no network_args given");
        assertEquals("4.0", md.get("ss_network_alpha"), "a given network_alpha is a float");
        assertEquals("None", md.get("ss_network_dim"));
        assertEquals("1600", md.get("ss_max_train_steps"));
        // 30 batches / 2 accumulation = 15 steps per epoch, ceil(1600 / 15) = 107 epochs
        assertEquals("107", md.get("ss_num_epochs"));
        assertEquals("107", md.get("ss_epoch"));
        assertEquals("1234", md.get("ss_seed"));
        assertEquals("None", md.get("ss_output_name"));
        assertEquals("vae/kl-f8.safetensors", md.get("ss_vae_name"));
        assertTrue(md.get("modelspec.title").startsWith("LoRA@1739703600.5"), md.get("modelspec.title"));
        assertFalse(md.containsKey("modelspec.timestep_range"));
        assertFalse(md.containsKey("modelspec.encoder_layer"));
    }

    @Test
    void noMetadataKeepsTheMinimumKeysAndModelSpec() {
        JobSpec job = parse(CONFIG_JOB.replace("seed = 42", "seed = 42\nno_metadata = true"));
        LoraMetadata.Run run = new LoraMetadata.Run(job, plan(job, cats()), 1, STARTED, 42, null, null, OPTIMIZER);
        Map<String, String> md = LoraMetadata.forSave(run, 30, 1, SAVED, ZoneOffset.UTC);
        Map<String, String> ss = new TreeMap<>();
        md.forEach((k, v) -> {
            if (k.startsWith("ss_")) {
                ss.put(k, v);
            }
        });
        assertEquals(Map.of("ss_v2", "False", "ss_base_model_version", "sd_v1", "ss_network_module", "networks.lora",
                "ss_network_dim", "8", "ss_network_alpha", "1",
                "ss_network_args", "{\"conv_dim\": \"4\", \"conv_alpha\": \"1\", \"dropout\": null}"), ss);
        assertEquals("stable-diffusion-v1/lora", md.get("modelspec.architecture"));
        assertEquals("catlora", md.get("modelspec.title"));
    }

    @Test
    void v2VPredictionAndOptionalModelSpecFields() throws IOException {
        Path thumbnail = temp.resolve("thumb.png");
        Files.write(thumbnail, new byte[] {1, 2, 3});
        JobSpec job = parse(CONFIG_JOB
                .replace("seed = 42", "seed = 42\nv2 = true\nv_parameterization = true\nnetwork_dropout = 0.1\n"
                        + "metadata_title = \"Cats\"\nmetadata_trigger_phrase = \"sks cat\"\n"
                        + "metadata_thumbnail = \"" + thumbnail + "\"\nmetadata_license = \"MIT\"")
                .replace("network_args = [\"conv_dim=4\", \"conv_alpha=1\"]", "network_args = [\"dropout=0.2\"]"));
        LoraMetadata.Run run = new LoraMetadata.Run(job, plan(job, cats()), 1, STARTED, 42, null, null, OPTIMIZER);
        Map<String, String> md = LoraMetadata.forSave(run, 30, 1, SAVED, ZoneOffset.UTC);
        assertEquals("True", md.get("ss_v2"));
        assertEquals("sd_v2_v", md.get("ss_base_model_version"));
        assertEquals("0.1", md.get("ss_network_dropout"));
        assertEquals("{\"dropout\": \"0.2\"}", md.get("ss_network_args"), "a given dropout is kept as its string");
        assertEquals("stable-diffusion-v2-768-v/lora", md.get("modelspec.architecture"));
        assertEquals("768x768", md.get("modelspec.resolution"));
        assertEquals("v", md.get("modelspec.prediction_type"));
        assertEquals("Cats", md.get("modelspec.title"));
        assertEquals("MIT", md.get("modelspec.license"));
        assertEquals("sks cat", md.get("modelspec.trigger_phrase"));
        assertEquals("data:image/png;base64,AQID", md.get("modelspec.thumbnail"));
        assertEquals("sd_v1", LoraMetadata.baseModelVersion(false, false));
        assertEquals("sd_v2", LoraMetadata.baseModelVersion(true, false));
        assertEquals("sd_v1_v", LoraMetadata.baseModelVersion(false, true));
    }

    @Test
    void validationImagesAreTheRoundedShareOfEachTrainingFolder() {
        JobSpec job = parse(CONFIG_JOB.replace("batch_size = 2", "batch_size = 2\nvalidation_split = 0.5"));
        DatasetPlan plan = plan(job, cats());
        // 3 images: training keeps ceil(1.5) = 2, validation takes round(1.5) = 2 (half to even), repeats 1
        assertEquals(20, plan.datasets().get(0).numTrainImages());
        LoraMetadata.Run run = new LoraMetadata.Run(job, plan, 1, STARTED, 42, null, null, OPTIMIZER);
        assertEquals("2", run.trainingMetadata().get("ss_num_validation_images"));
        // ss_validation_split is the training argument, not the dataset config's value
        assertEquals("0.0", run.trainingMetadata().get("ss_validation_split"));
    }

    @Test
    void localModelFilesHashAsSdScripts(@TempDir Path dir) throws IOException {
        Path small = dir.resolve("small.bin");
        Files.write(small, new byte[1000]);
        assertEquals("e3b0c442", ModelHashes.legacyFileHash(small), "no bytes at 1 MiB: hash of nothing");
        assertEquals("NOFILE", ModelHashes.legacyFileHash(dir.resolve("missing")));
        assertEquals("IsADirectory", ModelHashes.sha256File(dir));
        assertEquals("7c04580a", ModelHashes.legacyFileHash(baseModel()));
    }

    @Test
    void otherMethodsAreRefused() {
        JobSpec job = parse("method = \"dreambooth\"\npretrained_model_name_or_path = \"m.safetensors\"\n"
                + "resolution = 512\n");
        assertThrows(IllegalArgumentException.class, () -> new LoraMetadata.Run(job, plan(job, cats()), 1, STARTED,
                42, null, null, OPTIMIZER));
    }

    @Test
    void sessionIdsCoverTheClosedRange() {
        SplittableRandom random = new SplittableRandom(1);
        for (int i = 0; i < 1000; i++) {
            long id = LoraMetadata.newSessionId(random);
            assertTrue(id >= 0 && id <= (1L << 32));
        }
    }
}
