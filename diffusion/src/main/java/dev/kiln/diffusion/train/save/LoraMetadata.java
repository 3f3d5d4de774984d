package dev.kiln.diffusion.train.save;

import dev.kiln.model.dataset.ConfigException;
import dev.kiln.model.dataset.DatasetPlan;
import dev.kiln.model.dataset.ImageFiles;
import dev.kiln.model.job.JobSpec;
import dev.kiln.model.job.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneId;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;

/**
 * The {@code __metadata__} of a LoRA as train_network.py writes it (§8.6; train_network.py L1002-1230 and
 * save_model): every {@code ss_*} key as Python's {@code str()} of sd-scripts' value, the dataset keys
 * ({@link DatasetMetadata}), base model and VAE names and hashes, the per-save {@code ss_steps}, {@code ss_epoch} and
 * {@code ss_training_finished_at}, and the {@code modelspec.*} keys. {@code sshs_*} hashes are added by
 * {@link LoraFiles#save} because they depend on the tensors.
 */
public final class LoraMetadata {
    /** The only network module Kiln trains. */
    public static final String NETWORK_MODULE = "networks.lora";
    /** What sd-scripts writes when {@code git rev-parse HEAD} fails. */
    public static final String SD_SCRIPTS_COMMIT_HASH = "(unknown)";
    /** The ss_* keys kept with {@code --no_metadata} (train_util.SS_METADATA_MINIMUM_KEYS). */
    public static final List<String> MINIMUM_KEYS = List.of("ss_v2", "ss_base_model_version", "ss_network_module",
            "ss_network_dim", "ss_network_alpha", "ss_network_args");

    private LoraMetadata() {}

    /**
     * What stays the same for every save of one training run: the job, its plan and the ss_* keys built from them.
     * Building it hashes the base model and VAE files (the full-file SHA-256 reads them once).
     */
    public static final class Run {
        private final JobSpec job;
        private final long numTrainEpochs;
        private final Map<String, String> training;

        /**
         * @param job a LoRA job
         * @param plan the job's dataset plan (image counts, batches, epochs, buckets, tags)
         * @param sessionId random integer in [0, 2^32] ({@link #newSessionId})
         * @param trainingStartedAt Unix time in seconds when training started ({@link #unixTime})
         * @param seed the seed the run uses: the job's {@code seed}, or the one drawn because it was unset
         * @param baseModelFile the local file (or diffusers folder) of {@code pretrained_model_name_or_path}, or null
         *     when it is not a local file; then only the name is written, as sd-scripts does for a hub id
         * @param vaeFile the local file of the job's {@code vae}, or null
         * @param optimizerDescription sd-scripts' {@code ss_optimizer}: {@code <module>.<Class>} plus
         *     {@code (k=v,...)} when optimizer_args were given, e.g. {@code torch.optim.adamw.AdamW(weight_decay=0.1)}
         */
        public Run(JobSpec job, DatasetPlan plan, long sessionId, double trainingStartedAt, long seed,
                Path baseModelFile, Path vaeFile, String optimizerDescription) {
            if (job.method() != Method.LORA) {
                throw new IllegalArgumentException("LoRA metadata for a " + job.method().tomlName() + " job");
            }
            this.job = job;
            this.numTrainEpochs = plan.epochs();
            this.training = Collections.unmodifiableMap(trainingKeys(job, plan, sessionId, trainingStartedAt, seed,
                    baseModelFile, vaeFile, optimizerDescription));
        }

        public JobSpec job() {
            return job;
        }

        /** num_train_epochs, the {@code ss_epoch} of the final save. */
        public long numTrainEpochs() {
            return numTrainEpochs;
        }

        /** The ss_* keys known before training, in sd-scripts' order. */
        public Map<String, String> trainingMetadata() {
            return training;
        }
    }

    /**
     * The metadata of one save. With {@code no_metadata} only {@link #MINIMUM_KEYS} (those present) remain of the
     * ss_* keys; the modelspec keys are always added. The modelspec date is in the system time zone.
     *
     * @param steps the global step at save time ({@code ss_steps})
     * @param ssEpoch {@code ss_epoch}: e (1-based) for an epoch save, the 0-based index of the running epoch for a
     *     step save, num_train_epochs for the final save (see {@link #forEpochSave}, {@link #forStepSave},
     *     {@link #forFinalSave})
     * @param savedAt Unix time of the save ({@code ss_training_finished_at}, the modelspec date)
     */
    public static Map<String, String> forSave(Run run, long steps, long ssEpoch, double savedAt) {
        return forSave(run, steps, ssEpoch, savedAt, ZoneId.systemDefault());
    }

    /** As {@link #forSave(Run, long, long, double)} with the modelspec date in {@code zone}. */
    public static Map<String, String> forSave(Run run, long steps, long ssEpoch, double savedAt, ZoneId zone) {
        Map<String, String> out = new LinkedHashMap<>();
        if (run.job.flag("no_metadata")) {
            for (String key : MINIMUM_KEYS) {
                if (run.training.containsKey(key)) {
                    out.put(key, run.training.get(key));
                }
            }
        } else {
            out.putAll(run.training);
            out.put("ss_training_finished_at", PyStr.floatRepr(savedAt));
            out.put("ss_steps", Long.toString(steps));
            out.put("ss_epoch", Long.toString(ssEpoch));
        }
        out.putAll(ModelSpec.forLora(run.job, savedAt, zone));
        return out;
    }

    /** The save after epoch {@code epoch} (1-based). */
    public static Map<String, String> forEpochSave(Run run, long steps, long epoch, double savedAt) {
        return forSave(run, steps, epoch, savedAt);
    }

    /** A save after step {@code steps} during the epoch with 0-based index {@code epochIndex} (sd-scripts' quirk). */
    public static Map<String, String> forStepSave(Run run, long steps, long epochIndex, double savedAt) {
        return forSave(run, steps, epochIndex, savedAt);
    }

    /** The final save: ss_epoch is num_train_epochs. */
    public static Map<String, String> forFinalSave(Run run, long steps, double savedAt) {
        return forSave(run, steps, run.numTrainEpochs, savedAt);
    }

    /** {@code ss_base_model_version} for SD 1.x / 2.x: sd_v1, sd_v2, sd_v1_v, sd_v2_v. */
    public static String baseModelVersion(boolean v2, boolean vParameterization) {
        return (v2 ? "sd_v2" : "sd_v1") + (vParameterization ? "_v" : "");
    }

    /** {@code random.randint(0, 2**32)}: both ends included. */
    public static long newSessionId(RandomGenerator random) {
        return random.nextLong(0, (1L << 32) + 1);
    }

    /** Python's {@code time.time()} for an instant. */
    public static double unixTime(Instant instant) {
        return instant.getEpochSecond() + instant.getNano() / 1e9;
    }

    private static Map<String, String> trainingKeys(JobSpec job, DatasetPlan plan, long sessionId, double startedAt,
            long seed, Path baseModelFile, Path vaeFile, String optimizer) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("ss_session_id", Long.toString(sessionId));
        m.put("ss_training_started_at", PyStr.floatRepr(startedAt));
        arg(m, job, "ss_output_name", "output_name");
        arg(m, job, "ss_learning_rate", "learning_rate");
        m.put("ss_text_encoder_lr", PyStr.str(textEncoderLr(job)));
        arg(m, job, "ss_unet_lr", "unet_lr");
        m.put("ss_num_train_images", Long.toString(plan.datasets().stream()
                .mapToLong(DatasetPlan.Dataset::numTrainImages).sum()));
        m.put("ss_num_validation_images", Long.toString(DatasetMetadata.validationImages(plan)));
        m.put("ss_num_reg_images", Long.toString(plan.datasets().stream()
                .mapToLong(DatasetPlan.Dataset::numRegImages).sum()));
        m.put("ss_num_batches_per_epoch", Long.toString(plan.batchesPerEpoch()));
        m.put("ss_num_epochs", Long.toString(plan.epochs()));
        arg(m, job, "ss_gradient_checkpointing", "gradient_checkpointing");
        arg(m, job, "ss_gradient_accumulation_steps", "gradient_accumulation_steps");
        // max_train_epochs has replaced max_train_steps by now
        m.put("ss_max_train_steps", Long.toString(plan.totalSteps()));
        arg(m, job, "ss_lr_warmup_steps", "lr_warmup_steps");
        arg(m, job, "ss_lr_scheduler", "lr_scheduler");
        String module = job.stringArgument("network_module");
        m.put("ss_network_module", module != null ? module : NETWORK_MODULE);
        arg(m, job, "ss_network_dim", "network_dim"); // "None" when defaulted (4)
        arg(m, job, "ss_network_alpha", "network_alpha"); // the int default prints "1", a given value "1.0"
        arg(m, job, "ss_network_dropout", "network_dropout");
        arg(m, job, "ss_mixed_precision", "mixed_precision");
        arg(m, job, "ss_full_fp16", "full_fp16");
        arg(m, job, "ss_v2", "v2");
        m.put("ss_base_model_version", baseModelVersion(job.flag("v2"), job.flag("v_parameterization")));
        arg(m, job, "ss_clip_skip", "clip_skip");
        arg(m, job, "ss_max_token_length", "max_token_length");
        // verify_training_args: cache_latents_to_disk turns cache_latents on
        m.put("ss_cache_latents", PyStr.str(job.flag("cache_latents") || job.flag("cache_latents_to_disk")));
        m.put("ss_seed", Long.toString(seed));
        arg(m, job, "ss_lowram", "lowram");
        arg(m, job, "ss_noise_offset", "noise_offset");
        arg(m, job, "ss_multires_noise_iterations", "multires_noise_iterations");
        arg(m, job, "ss_multires_noise_discount", "multires_noise_discount");
        arg(m, job, "ss_adaptive_noise_scale", "adaptive_noise_scale");
        arg(m, job, "ss_zero_terminal_snr", "zero_terminal_snr");
        arg(m, job, "ss_training_comment", "training_comment");
        m.put("ss_sd_scripts_commit_hash", SD_SCRIPTS_COMMIT_HASH);
        m.put("ss_optimizer", optimizer);
        arg(m, job, "ss_max_grad_norm", "max_grad_norm");
        arg(m, job, "ss_caption_dropout_rate", "caption_dropout_rate");
        arg(m, job, "ss_caption_dropout_every_n_epochs", "caption_dropout_every_n_epochs");
        arg(m, job, "ss_caption_tag_dropout_rate", "caption_tag_dropout_rate");
        arg(m, job, "ss_face_crop_aug_range", "face_crop_aug_range");
        arg(m, job, "ss_prior_loss_weight", "prior_loss_weight");
        arg(m, job, "ss_min_snr_gamma", "min_snr_gamma");
        arg(m, job, "ss_scale_weight_norms", "scale_weight_norms");
        arg(m, job, "ss_ip_noise_gamma", "ip_noise_gamma");
        arg(m, job, "ss_debiased_estimation", "debiased_estimation_loss");
        arg(m, job, "ss_noise_offset_random_strength", "noise_offset_random_strength");
        arg(m, job, "ss_ip_noise_gamma_random_strength", "ip_noise_gamma_random_strength");
        arg(m, job, "ss_loss_type", "loss_type");
        arg(m, job, "ss_huber_schedule", "huber_schedule");
        arg(m, job, "ss_huber_scale", "huber_scale");
        arg(m, job, "ss_huber_c", "huber_c");
        arg(m, job, "ss_fp8_base", "fp8_base");
        arg(m, job, "ss_fp8_base_unet", "fp8_base_unet");
        arg(m, job, "ss_validation_seed", "validation_seed");
        arg(m, job, "ss_validation_split", "validation_split");
        arg(m, job, "ss_max_validation_steps", "max_validation_steps");
        arg(m, job, "ss_validate_every_n_epochs", "validate_every_n_epochs");
        arg(m, job, "ss_validate_every_n_steps", "validate_every_n_steps");
        arg(m, job, "ss_resize_interpolation", "resize_interpolation");

        m.putAll(job.dataset().isLegacy() ? DatasetMetadata.forLegacy(job, plan) : DatasetMetadata.forConfig(plan));

        String networkArgs = networkArgsJson(job);
        if (networkArgs != null) {
            m.put("ss_network_args", networkArgs);
        }
        String model = job.pretrainedModel();
        if (model != null) {
            String name = model;
            if (baseModelFile != null && Files.exists(baseModelFile)) {
                m.put("ss_sd_model_hash", ModelHashes.legacyFileHash(baseModelFile));
                m.put("ss_new_sd_model_hash", ModelHashes.sha256File(baseModelFile));
                name = ImageFiles.fileName(model);
            }
            m.put("ss_sd_model_name", name);
        }
        String vae = job.stringArgument("vae");
        if (vae != null) {
            String name = vae;
            if (vaeFile != null && Files.exists(vaeFile)) {
                m.put("ss_vae_hash", ModelHashes.legacyFileHash(vaeFile));
                m.put("ss_new_vae_hash", ModelHashes.sha256File(vaeFile));
                name = ImageFiles.fileName(vae);
            }
            m.put("ss_vae_name", name);
        }
        return m;
    }

    private static void arg(Map<String, String> m, JobSpec job, String key, String argument) {
        m.put(key, PyStr.str(job.argument(argument)));
    }

    /** networks.lora has one text-encoder lr: the first of --text_encoder_lr, None when none is given. */
    private static Double textEncoderLr(JobSpec job) {
        @SuppressWarnings("unchecked")
        List<Double> lrs = (List<Double>) job.argument("text_encoder_lr");
        return lrs == null || lrs.isEmpty() ? null : lrs.get(0);
    }

    /**
     * {@code json.dumps(net_kwargs)} when network_args were given: each {@code key=value} (split at the first "=")
     * as a string, plus the {@code "dropout": network_dropout} entry train_network.py adds when the args have none
     * (not with dim_from_weights, where the network is created from the weights file).
     */
    static String networkArgsJson(JobSpec job) {
        @SuppressWarnings("unchecked")
        List<String> args = (List<String>) job.argument("network_args");
        if (args == null || args.isEmpty()) {
            return null;
        }
        Map<String, Object> kwargs = new LinkedHashMap<>();
        for (String arg : args) {
            int eq = arg.indexOf('=');
            if (eq < 0) {
                throw new ConfigException("", "network_args", "'" + arg + "' is not key=value");
            }
            kwargs.put(arg.substring(0, eq), arg.substring(eq + 1));
        }
        if (!kwargs.containsKey("dropout") && !job.flag("dim_from_weights")) {
            kwargs.put("dropout", job.argument("network_dropout"));
        }
        return PyStr.json(kwargs);
    }
}
