package dev.kiln.model.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.model.dataset.ConfigException;
import dev.kiln.model.dataset.DatasetBlueprint;
import dev.kiln.model.dataset.DatasetPlan;
import dev.kiln.model.dataset.DatasetPlanner;
import dev.kiln.model.dataset.MemorySource;
import dev.kiln.model.dataset.SubsetParams;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * job.toml (ARCHITECTURE §4): training arguments under sd-scripts' names with argparse types and defaults
 * (kohya-behaviour.md §13), the inline dataset config, and errors that name the key.
 */
class JobSpecParserTest {
    private static final String ARCHITECTURE_EXAMPLE = """
            method = "lora"                       # lora | dreambooth | finetune | textual_inversion
            pretrained_model_name_or_path = "models/sd15.safetensors"   # object key, or a diffusers folder prefix
            sample_prompts = ["a photo of sks cat --w 512 --h 512 --s 30 --d 42"]   # or an object key of a prompts file

            [general]                              # the kohya dataset config, inline; image_dir = object prefix
            enable_bucket = true
            [[datasets]]
            resolution = 512
            batch_size = 2
              [[datasets.subsets]]
              image_dir = "datasets/cats/10_sks cat"
              class_tokens = "sks cat"
              num_repeats = 10
            """;

    private static JobSpec parse(String toml) {
        return JobSpecParser.parse(toml, "job.toml", "cat-lora");
    }

    private static ConfigException invalid(String toml) {
        return assertThrows(ConfigException.class, () -> parse(toml));
    }

    private static final String MODEL = "pretrained_model_name_or_path = \"models/sd15.safetensors\"\n";

    @Test
    void architectureExampleParses() {
        JobSpec job = parse(ARCHITECTURE_EXAMPLE);
        assertEquals(Method.LORA, job.method());
        assertEquals("models/sd15.safetensors", job.pretrainedModel());
        assertEquals(List.of("a photo of sks cat --w 512 --h 512 --s 30 --d 42"), job.samplePrompts());
        assertNull(job.samplePromptsKey());
        DatasetBlueprint d = job.dataset().explicitDatasets().get(0);
        assertTrue(d.params().enableBucket());
        assertEquals(2, d.params().batchSize());
        SubsetParams s = d.subsets().get(0);
        assertEquals("datasets/cats/10_sks cat", s.imageDir());
        assertEquals(10, s.numRepeats());
        assertEquals("sks cat", s.classTokens());
        assertEquals(".caption", s.captionExtension(), "argparse default of --caption_extension");
    }

    @Test
    void argparseDefaultsForWhatIsNotGiven() {
        JobSpec job = parse(ARCHITECTURE_EXAMPLE);
        assertEquals(2e-6, job.floatArgument("learning_rate", -1));
        assertEquals(1600, job.intArgument("max_train_steps", -1));
        assertEquals("constant", job.stringArgument("lr_scheduler"));
        assertEquals("", job.stringArgument("optimizer_type"));
        assertEquals("safetensors", job.stringArgument("save_model_as"));
        assertEquals(1L, job.argument("network_alpha"), "argparse keeps the int default 1 (int64 alpha tensors)");
        assertNull(job.argument("network_dim"));
        assertFalse(job.flag("gradient_checkpointing"));
        assertEquals("ddim", job.stringArgument("sample_sampler"));
        assertTrue(job.givenArguments().contains("pretrained_model_name_or_path"));
        assertEquals("pt", JobSpecParser.defaults(Method.TEXTUAL_INVERSION).get("save_model_as"));
    }

    @Test
    void givenArgumentsAreTyped() {
        JobSpec job = parse(MODEL + """
                network_dim = 16
                network_alpha = 8
                learning_rate = 1e-4
                unet_lr = 1
                max_train_epochs = 10
                gradient_accumulation_steps = 2
                network_args = ["conv_dim=4", "conv_alpha=1"]
                text_encoder_lr = 5e-5
                lr_warmup_steps = 0.1
                xformers = true
                sample_prompts = "prompts/cat.txt"
                """);
        assertEquals(16L, job.argument("network_dim"));
        assertEquals(8.0, job.argument("network_alpha"));
        assertEquals(1.0, job.argument("unet_lr"), "argparse float accepts an integer");
        assertEquals(List.of("conv_dim=4", "conv_alpha=1"), job.argument("network_args"));
        assertEquals(List.of(5e-5), job.argument("text_encoder_lr"));
        assertEquals(0.1, job.argument("lr_warmup_steps"));
        assertTrue(job.flag("xformers"));
        assertEquals("prompts/cat.txt", job.samplePromptsKey());
        assertEquals(10, job.trainingLength().maxTrainEpochs());
        assertEquals(2, job.trainingLength().gradientAccumulationSteps());
    }

    @Test
    void unknownAndMistypedKeysAreNamed() {
        assertEquals("network_dimension", invalid(MODEL + "network_dimension = 4\n").key());
        ConfigException e = invalid(MODEL + "network_dim = \"16\"\n");
        assertEquals("network_dim", e.key());
        assertTrue(e.getMessage().contains("expected int"), e.getMessage());
        assertEquals("max_train_steps", invalid(MODEL + "max_train_steps = 1.5\n").key());
        assertEquals("xformers", invalid(MODEL + "xformers = 1\n").key());
        assertEquals("network_dim", invalid(MODEL + "network_dim = true\n").key());
        assertEquals("sample_prompts", invalid(MODEL + "sample_prompts = [1, 2]\n").key());
        assertEquals("dataset_config", invalid(MODEL + "dataset_config = \"d.toml\"\n").key());
        assertEquals("model_arguments", invalid(MODEL + "[model_arguments]\nv2 = true\n").key());
    }

    @Test
    void methodDecidesTheArgumentSet() {
        assertEquals("method", invalid(MODEL + "method = \"hypernetwork\"\n").key());
        assertEquals("network_dim", invalid(MODEL + "method = \"dreambooth\"\nnetwork_dim = 4\n").key());
        assertEquals("token_string", invalid(MODEL + "token_string = \"sks\"\n").key(), "not a LoRA argument");
        JobSpec ti = parse(MODEL + "method = \"textual_inversion\"\ntoken_string = \"sks\"\nnum_vectors_per_token = 4\n");
        assertEquals(4L, ti.argument("num_vectors_per_token"));
        ConfigException dropout = invalid(MODEL + """
                method = "textual_inversion"
                [general]
                caption_dropout_rate = 0.1
                """);
        assertEquals("caption_dropout_rate", dropout.key());
        assertEquals("general", dropout.table());
        assertEquals("diffusers", parse(MODEL + "method = \"dreambooth\"\nsave_model_as = \"diffusers\"\n")
                .stringArgument("save_model_as"));
        assertEquals("save_model_as", invalid(MODEL + "save_model_as = \"diffusers\"\n").key());
    }

    @Test
    void choicesAndCombinations() {
        assertEquals("mixed_precision", invalid(MODEL + "mixed_precision = \"fp32\"\n").key());
        assertEquals("max_token_length", invalid(MODEL + "max_token_length = 100\n").key());
        assertEquals(225L, parse(MODEL + "max_token_length = 225\n").argument("max_token_length"));
        assertEquals("full_fp16", invalid(MODEL + "full_fp16 = true\nmixed_precision = \"bf16\"\n").key());
        assertEquals("adaptive_noise_scale", invalid(MODEL + "adaptive_noise_scale = 0.1\n").key());
        parse(MODEL + "adaptive_noise_scale = 0.1\nnoise_offset = 0.05\n");
        assertEquals("scale_v_pred_loss_like_noise_pred",
                invalid(MODEL + "scale_v_pred_loss_like_noise_pred = true\n").key());
        assertEquals("train_batch_size", invalid(MODEL + "train_batch_size = 0\n").key());
    }

    @Test
    void baseModelIsRequired() {
        assertEquals("pretrained_model_name_or_path", invalid("network_dim = 4\n").key());
    }

    @Test
    void topLevelArgumentsFeedTheDatasetConfig() {
        JobSpec job = parse(MODEL + """
                resolution = "640,448"
                train_batch_size = 3
                enable_bucket = true
                caption_extension = ".txt"
                shuffle_caption = true
                [[datasets]]
                  [[datasets.subsets]]
                  image_dir = "x"
                """);
        DatasetBlueprint d = job.dataset().explicitDatasets().get(0);
        assertEquals(640, d.params().width());
        assertEquals(448, d.params().height());
        assertEquals(3, d.params().batchSize());
        assertTrue(d.params().enableBucket());
        assertEquals(".txt", d.subsets().get(0).captionExtension());
        assertTrue(d.subsets().get(0).shuffleCaption());
        assertArrayEquals(new int[] {512, 512}, (int[]) parse(MODEL + "resolution = 512\n").argument("resolution"));
        assertEquals("resolution", invalid(MODEL + "resolution = \"512x512\"\n").key());
    }

    @Test
    void legacyCaptionExtentionWins() {
        JobSpec job = parse(MODEL + """
                caption_extension = ".caption"
                caption_extention = ".txt"
                resolution = 512
                [[datasets]]
                  [[datasets.subsets]]
                  image_dir = "x"
                """);
        assertEquals(".txt", job.dataset().explicitDatasets().get(0).subsets().get(0).captionExtension());
    }

    @Test
    void withoutDatasetsEveryKohyaFolderOfTheJobIsUsed() {
        JobSpec job = parse(MODEL + "resolution = 512\n[general]\nflip_aug = true\n");
        assertTrue(job.dataset().isLegacy());
        MemorySource source = new MemorySource()
                .images("datasets/cat-lora/10_sks cat", 3, 512, 512)
                .images("datasets/cat-lora/reg/1_cat", 5, 512, 512)
                .images("datasets/other/2_x", 2, 512, 512);
        DatasetPlan plan = DatasetPlanner.plan(job.dataset(), source, job.trainingLength());
        List<SubsetParams> subsets = plan.datasets().get(0).subsets();
        assertEquals(List.of("datasets/cat-lora/10_sks cat", "datasets/cat-lora/reg/1_cat"),
                subsets.stream().map(SubsetParams::imageDir).toList());
        assertEquals(List.of(false, true), subsets.stream().map(SubsetParams::isReg).toList());
        assertTrue(subsets.get(0).flipAug(), "[general] applies to folder subsets");
        assertTrue(plan.warnings().stream().noneMatch(w -> w.contains("without repeats")),
                "the reg folder is not a training folder without repeats: " + plan.warnings());
        List<Integer> repeats = new ArrayList<>();
        plan.datasets().get(0).images().forEach(i -> repeats.add(i.repeats()));
        assertEquals(List.of(10, 10, 10, 6, 6, 6, 6, 6), repeats, "30 training samples balance 5 reg images");
    }

    @Test
    void textualInversionOptionsForItsDatasets() {
        assertFalse(parse(MODEL + "method = \"textual_inversion\"\n").datasetOptions().supportDropout());
        assertTrue(parse(MODEL).datasetOptions().supportDropout());
    }

    @Test
    void eachTrainerHasItsDatasetKinds() {
        // train_db.py: ConfigSanitizer(True, False, ...) and no --in_json; fine_tune.py: (False, True, ...)
        String metadataDataset = """
                resolution = 512
                [[datasets]]
                  [[datasets.subsets]]
                  metadata_file = "md.json"
                """;
        String folderDataset = """
                resolution = 512
                [[datasets]]
                  [[datasets.subsets]]
                  image_dir = "x"
                """;
        assertEquals("metadata_file", invalid(MODEL + "method = \"dreambooth\"\n" + metadataDataset).key());
        assertEquals("metadata_file", invalid(MODEL + "method = \"finetune\"\n" + folderDataset).key());
        assertEquals("in_json", invalid(MODEL + "method = \"dreambooth\"\nin_json = \"md.json\"\n").key());
        assertEquals("reg_data_dir", invalid(MODEL + "method = \"finetune\"\nreg_data_dir = \"r\"\n").key());
        assertEquals("caption_extension", invalid(MODEL + "method = \"finetune\"\n[general]\ncaption_extension = \".txt\"\n")
                .key());
        parse(MODEL + "method = \"finetune\"\n" + metadataDataset);
        parse(MODEL + "method = \"dreambooth\"\nprior_loss_weight = 0.5\n" + folderDataset);
    }

    @Test
    void specSerializesForTheSubmittedEvent() throws Exception {
        JobSpec job = parse(ARCHITECTURE_EXAMPLE.replace("method = \"lora\"", "method = \"lora\"\nresolution = \"512,768\""));
        String json = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(job.toJson());
        com.fasterxml.jackson.databind.JsonNode node = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json);
        assertEquals("lora", node.get("method").asText());
        assertEquals("[512,768]", node.get("arguments").get("resolution").toString());
        assertEquals(10, node.get("datasets").get(0).get("subsets").get(0).get("num_repeats").asInt());
        assertEquals("[512,512]", node.get("datasets").get(0).get("resolution").toString(), "the dataset's own value");
        JobSpec legacy = parse(MODEL);
        assertEquals("datasets/cat-lora", legacy.toJson().get("legacy_dataset") instanceof java.util.Map<?, ?> l
                ? l.get("train_data_dir") : null);
    }
}
