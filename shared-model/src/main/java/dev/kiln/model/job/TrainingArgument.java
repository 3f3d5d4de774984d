package dev.kiln.model.job;

import static dev.kiln.model.dataset.ValueType.ARG_FLOAT;
import static dev.kiln.model.dataset.ValueType.ARG_FLOAT_PAIR;
import static dev.kiln.model.dataset.ValueType.ARG_RESOLUTION;
import static dev.kiln.model.dataset.ValueType.BOOL;
import static dev.kiln.model.dataset.ValueType.FLOAT_LIST;
import static dev.kiln.model.dataset.ValueType.INT;
import static dev.kiln.model.dataset.ValueType.NUMBER;
import static dev.kiln.model.dataset.ValueType.STRING;
import static dev.kiln.model.dataset.ValueType.STRING_LIST;
import static dev.kiln.model.job.TrainingArgument.Scope.ALL;
import static dev.kiln.model.job.TrainingArgument.Scope.DB;
import static dev.kiln.model.job.TrainingArgument.Scope.DB_FT;
import static dev.kiln.model.job.TrainingArgument.Scope.FT;
import static dev.kiln.model.job.TrainingArgument.Scope.LORA;
import static dev.kiln.model.job.TrainingArgument.Scope.NO_DB;
import static dev.kiln.model.job.TrainingArgument.Scope.NO_FT;
import static dev.kiln.model.job.TrainingArgument.Scope.NO_TI;
import static dev.kiln.model.job.TrainingArgument.Scope.TI;

import dev.kiln.model.dataset.ValueType;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A training argument of sd-scripts under its command-line name, with its type, argparse default and allowed
 * values. The table is taken from the argparse definitions that train_network.py's setup_parser assembles
 * (library/train_util.py add_*_arguments, library/utils.py, sai_model_spec, deepspeed_utils, config_util,
 * custom_train_functions), plus the options train_db.py, fine_tune.py and train_textual_inversion.py add.
 * Defaults are argparse's own values: like argparse they are not converted by the type (network_alpha's
 * default stays the integer 1, which makes sd-scripts save int64 alpha tensors).
 *
 * @param defaultValue Long, Double, Boolean, String or null
 * @param choices allowed values (empty: any)
 */
public record TrainingArgument(String name, ValueType type, Object defaultValue, Scope scope, Set<Object> choices) {

    /** Which trainers define an argument. */
    public enum Scope {
        ALL, LORA, TI, DB, FT, DB_FT,
        /** Trainers with DreamBooth datasets (add_dataset_arguments' support_dreambooth). */
        NO_FT,
        /** Trainers with fine-tuning datasets (support_caption). */
        NO_DB,
        /** Trainers with caption dropout (support_caption_dropout). */
        NO_TI;

        boolean includes(Method method) {
            return switch (this) {
                case ALL -> true;
                case LORA -> method == Method.LORA;
                case TI -> method == Method.TEXTUAL_INVERSION;
                case DB -> method == Method.DREAMBOOTH;
                case FT -> method == Method.FINETUNE;
                case DB_FT -> method == Method.DREAMBOOTH || method == Method.FINETUNE;
                case NO_FT -> method != Method.FINETUNE;
                case NO_DB -> method != Method.DREAMBOOTH;
                case NO_TI -> method != Method.TEXTUAL_INVERSION;
            };
        }
    }

    /** Whether {@code method}'s trainer has this argument. */
    public boolean appliesTo(Method method) {
        return scope.includes(method);
    }

    private static TrainingArgument arg(String name, ValueType type, Object defaultValue, Scope scope,
            Object... choices) {
        return new TrainingArgument(name, type, defaultValue, scope, Set.of(choices));
    }

    /** Every known argument by name. */
    public static final Map<String, TrainingArgument> ALL_ARGUMENTS = table(List.of(
            arg("console_log_level", STRING, null, ALL, "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
            arg("console_log_file", STRING, null, ALL),
            arg("console_log_simple", BOOL, false, ALL),
            arg("v2", BOOL, false, ALL),
            arg("v_parameterization", BOOL, false, ALL),
            arg("pretrained_model_name_or_path", STRING, null, ALL),
            arg("tokenizer_cache_dir", STRING, null, ALL),
            arg("optimizer_type", STRING, "", ALL),
            arg("use_8bit_adam", BOOL, false, ALL),
            arg("use_lion_optimizer", BOOL, false, ALL),
            arg("learning_rate", ARG_FLOAT, 2e-06, ALL),
            arg("max_grad_norm", ARG_FLOAT, 1.0, ALL),
            arg("optimizer_args", STRING_LIST, null, ALL),
            arg("lr_scheduler_type", STRING, "", ALL),
            arg("lr_scheduler_args", STRING_LIST, null, ALL),
            arg("lr_scheduler", STRING, "constant", ALL),
            arg("lr_warmup_steps", NUMBER, 0L, ALL),
            arg("lr_decay_steps", NUMBER, 0L, ALL),
            arg("lr_scheduler_num_cycles", INT, 1L, ALL),
            arg("lr_scheduler_power", ARG_FLOAT, 1L, ALL),
            arg("fused_backward_pass", BOOL, false, ALL),
            arg("lr_scheduler_timescale", INT, null, ALL),
            arg("lr_scheduler_min_lr_ratio", ARG_FLOAT, null, ALL),
            arg("output_dir", STRING, null, ALL),
            arg("output_name", STRING, null, ALL),
            arg("huggingface_repo_id", STRING, null, ALL),
            arg("huggingface_repo_type", STRING, null, ALL),
            arg("huggingface_path_in_repo", STRING, null, ALL),
            arg("huggingface_token", STRING, null, ALL),
            arg("huggingface_repo_visibility", STRING, null, ALL),
            arg("save_state_to_huggingface", BOOL, false, ALL),
            arg("resume_from_huggingface", BOOL, false, ALL),
            arg("async_upload", BOOL, false, ALL),
            arg("save_precision", STRING, null, ALL, "float", "fp16", "bf16"),
            arg("save_every_n_epochs", INT, null, ALL),
            arg("save_every_n_steps", INT, null, ALL),
            arg("save_n_epoch_ratio", INT, null, ALL),
            arg("save_last_n_epochs", INT, null, ALL),
            arg("save_last_n_epochs_state", INT, null, ALL),
            arg("save_last_n_steps", INT, null, ALL),
            arg("save_last_n_steps_state", INT, null, ALL),
            arg("save_state", BOOL, false, ALL),
            arg("save_state_on_train_end", BOOL, false, ALL),
            arg("resume", STRING, null, ALL),
            arg("train_batch_size", INT, 1L, ALL),
            arg("max_token_length", INT, null, ALL, 150L, 225L),
            arg("mem_eff_attn", BOOL, false, ALL),
            arg("torch_compile", BOOL, false, ALL),
            arg("dynamo_backend", STRING, "inductor", ALL, "eager", "aot_eager", "inductor", "aot_ts_nvfuser", "nvprims_nvfuser", "cudagraphs", "ofi", "fx2trt", "onnxrt", "tensort", "ipex", "tvm"),
            arg("xformers", BOOL, false, ALL),
            arg("sdpa", BOOL, false, ALL),
            arg("vae", STRING, null, ALL),
            arg("max_train_steps", INT, 1600L, ALL),
            arg("max_train_epochs", INT, null, ALL),
            arg("max_data_loader_n_workers", INT, 8L, ALL),
            arg("persistent_data_loader_workers", BOOL, false, ALL),
            arg("seed", INT, null, ALL),
            arg("gradient_checkpointing", BOOL, false, ALL),
            arg("gradient_accumulation_steps", INT, 1L, ALL),
            arg("mixed_precision", STRING, "no", ALL, "no", "fp16", "bf16"),
            arg("full_fp16", BOOL, false, ALL),
            arg("full_bf16", BOOL, false, ALL),
            arg("fp8_base", BOOL, false, ALL),
            arg("ddp_timeout", INT, null, ALL),
            arg("ddp_gradient_as_bucket_view", BOOL, false, ALL),
            arg("ddp_static_graph", BOOL, false, ALL),
            arg("clip_skip", INT, null, ALL),
            arg("logging_dir", STRING, null, ALL),
            arg("log_with", STRING, null, ALL, "tensorboard", "wandb", "all"),
            arg("log_prefix", STRING, null, ALL),
            arg("log_tracker_name", STRING, null, ALL),
            arg("wandb_run_name", STRING, null, ALL),
            arg("log_tracker_config", STRING, null, ALL),
            arg("wandb_api_key", STRING, null, ALL),
            arg("log_config", BOOL, false, ALL),
            arg("noise_offset", ARG_FLOAT, null, ALL),
            arg("noise_offset_random_strength", BOOL, false, ALL),
            arg("multires_noise_iterations", INT, null, ALL),
            arg("ip_noise_gamma", ARG_FLOAT, null, ALL),
            arg("ip_noise_gamma_random_strength", BOOL, false, ALL),
            arg("multires_noise_discount", ARG_FLOAT, 0.3, ALL),
            arg("adaptive_noise_scale", ARG_FLOAT, null, ALL),
            arg("zero_terminal_snr", BOOL, false, ALL),
            arg("min_timestep", INT, null, ALL),
            arg("max_timestep", INT, null, ALL),
            arg("loss_type", STRING, "l2", ALL, "l1", "l2", "huber", "smooth_l1"),
            arg("huber_schedule", STRING, "snr", ALL, "constant", "exponential", "snr"),
            arg("huber_c", ARG_FLOAT, 0.1, ALL),
            arg("huber_scale", ARG_FLOAT, 1.0, ALL),
            arg("lowram", BOOL, false, ALL),
            arg("highvram", BOOL, false, ALL),
            arg("sample_every_n_steps", INT, null, ALL),
            arg("sample_at_first", BOOL, false, ALL),
            arg("sample_every_n_epochs", INT, null, ALL),
            arg("sample_prompts", STRING, null, ALL),
            arg("sample_sampler", STRING, "ddim", ALL, "ddim", "pndm", "lms", "euler", "euler_a", "heun", "dpm_2", "dpm_2_a", "dpmsolver", "dpmsolver++", "dpmsingle", "k_lms", "k_euler", "k_euler_a", "k_dpm_2", "k_dpm_2_a"),
            arg("config_file", STRING, null, ALL),
            arg("output_config", BOOL, false, ALL),
            arg("prior_loss_weight", ARG_FLOAT, 1.0, NO_FT),
            arg("conditioning_data_dir", STRING, null, ALL),
            arg("masked_loss", BOOL, false, ALL),
            arg("train_data_dir", STRING, null, ALL),
            arg("cache_info", BOOL, false, ALL),
            arg("shuffle_caption", BOOL, false, ALL),
            arg("caption_separator", STRING, ",", ALL),
            arg("caption_extension", STRING, ".caption", ALL),
            arg("caption_extention", STRING, null, ALL),
            arg("keep_tokens", INT, 0L, ALL),
            arg("keep_tokens_separator", STRING, "", ALL),
            arg("secondary_separator", STRING, null, ALL),
            arg("enable_wildcard", BOOL, false, ALL),
            arg("caption_prefix", STRING, null, ALL),
            arg("caption_suffix", STRING, null, ALL),
            arg("color_aug", BOOL, false, ALL),
            arg("flip_aug", BOOL, false, ALL),
            arg("face_crop_aug_range", ARG_FLOAT_PAIR, null, ALL),
            arg("random_crop", BOOL, false, ALL),
            arg("debug_dataset", BOOL, false, ALL),
            arg("resolution", ARG_RESOLUTION, null, ALL),
            arg("cache_latents", BOOL, false, ALL),
            arg("vae_batch_size", INT, 1L, ALL),
            arg("cache_latents_to_disk", BOOL, false, ALL),
            arg("skip_cache_check", BOOL, false, ALL),
            arg("enable_bucket", BOOL, false, ALL),
            arg("min_bucket_reso", INT, 256L, ALL),
            arg("max_bucket_reso", INT, 1024L, ALL),
            arg("bucket_reso_steps", INT, 64L, ALL),
            arg("bucket_no_upscale", BOOL, false, ALL),
            arg("resize_interpolation", STRING, null, ALL, "lanczos", "nearest", "bilinear", "linear", "bicubic", "cubic", "area"),
            arg("token_warmup_min", INT, 1L, ALL),
            arg("token_warmup_step", ARG_FLOAT, 0L, ALL),
            arg("alpha_mask", BOOL, false, ALL),
            arg("dataset_class", STRING, null, ALL),
            arg("caption_dropout_rate", ARG_FLOAT, 0.0, NO_TI),
            arg("caption_dropout_every_n_epochs", INT, 0L, NO_TI),
            arg("caption_tag_dropout_rate", ARG_FLOAT, 0.0, NO_TI),
            arg("reg_data_dir", STRING, null, NO_FT),
            arg("in_json", STRING, null, NO_DB),
            arg("dataset_repeats", INT, 1L, NO_DB),
            arg("metadata_title", STRING, null, ALL),
            arg("metadata_author", STRING, null, ALL),
            arg("metadata_description", STRING, null, ALL),
            arg("metadata_license", STRING, null, ALL),
            arg("metadata_tags", STRING, null, ALL),
            arg("metadata_usage_hint", STRING, null, ALL),
            arg("metadata_thumbnail", STRING, null, ALL),
            arg("metadata_merged_from", STRING, null, ALL),
            arg("metadata_trigger_phrase", STRING, null, ALL),
            arg("metadata_preprocessor", STRING, null, ALL),
            arg("metadata_is_negative_embedding", STRING, null, ALL),
            arg("deepspeed", BOOL, false, ALL),
            arg("zero_stage", INT, 2L, ALL, 0L, 1L, 2L, 3L),
            arg("offload_optimizer_device", STRING, null, ALL, "cpu", "nvme"),
            arg("offload_optimizer_nvme_path", STRING, null, ALL),
            arg("offload_param_device", STRING, null, ALL, "cpu", "nvme"),
            arg("offload_param_nvme_path", STRING, null, ALL),
            arg("zero3_init_flag", BOOL, false, ALL),
            arg("zero3_save_16bit_model", BOOL, false, ALL),
            arg("fp16_master_weights_and_gradients", BOOL, false, ALL),
            arg("dataset_config", STRING, null, ALL),
            arg("min_snr_gamma", ARG_FLOAT, null, ALL),
            arg("scale_v_pred_loss_like_noise_pred", BOOL, false, ALL),
            arg("v_pred_like_loss", ARG_FLOAT, null, ALL),
            arg("debiased_estimation_loss", BOOL, false, ALL),
            arg("weighted_captions", BOOL, false, ALL),
            arg("cpu_offload_checkpointing", BOOL, false, ALL),
            arg("no_metadata", BOOL, false, LORA),
            arg("unet_lr", ARG_FLOAT, null, LORA),
            arg("text_encoder_lr", FLOAT_LIST, null, LORA),
            arg("fp8_base_unet", BOOL, false, ALL),
            arg("network_weights", STRING, null, LORA),
            arg("network_module", STRING, null, LORA),
            arg("network_dim", INT, null, LORA),
            arg("network_alpha", ARG_FLOAT, 1L, LORA),
            arg("network_dropout", ARG_FLOAT, null, LORA),
            arg("network_args", STRING_LIST, null, LORA),
            arg("network_train_unet_only", BOOL, false, LORA),
            arg("network_train_text_encoder_only", BOOL, false, LORA),
            arg("training_comment", STRING, null, LORA),
            arg("dim_from_weights", BOOL, false, LORA),
            arg("scale_weight_norms", ARG_FLOAT, null, LORA),
            arg("base_weights", STRING_LIST, null, LORA),
            arg("base_weights_multiplier", FLOAT_LIST, null, LORA),
            arg("no_half_vae", BOOL, false, ALL),
            arg("skip_until_initial_step", BOOL, false, ALL),
            arg("initial_epoch", INT, null, ALL),
            arg("initial_step", INT, null, ALL),
            arg("validation_seed", INT, null, ALL),
            arg("validation_split", ARG_FLOAT, 0.0, ALL),
            arg("validate_every_n_steps", INT, null, ALL),
            arg("validate_every_n_epochs", INT, null, ALL),
            arg("max_validation_steps", INT, null, ALL),
            // trainer-specific options (each trainer's setup_parser)
            arg("save_model_as", STRING, null, ALL, "ckpt", "pt", "safetensors", "diffusers", "diffusers_safetensors"),
            arg("use_safetensors", BOOL, false, DB_FT),
            arg("learning_rate_te", ARG_FLOAT, null, DB_FT),
            arg("no_token_padding", BOOL, false, DB),
            arg("stop_text_encoder_training", INT, null, DB),
            arg("diffusers_xformers", BOOL, false, FT),
            arg("train_text_encoder", BOOL, false, FT),
            arg("weights", STRING, null, TI),
            arg("num_vectors_per_token", INT, 1L, TI),
            arg("token_string", STRING, null, TI),
            arg("init_word", STRING, null, TI),
            arg("use_object_template", BOOL, false, TI),
            arg("use_style_template", BOOL, false, TI)));

    private static Map<String, TrainingArgument> table(List<TrainingArgument> args) {
        Map<String, TrainingArgument> m = new LinkedHashMap<>();
        for (TrainingArgument a : args) {
            if (m.put(a.name(), a) != null) {
                throw new IllegalStateException("duplicate argument " + a.name());
            }
        }
        return java.util.Collections.unmodifiableMap(m);
    }
}
