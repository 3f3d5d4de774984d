package dev.kiln.diffusion.train;

import dev.kiln.diffusion.lora.LoraNetworkConfig;
import dev.kiln.diffusion.lora.SavePrecision;
import dev.kiln.model.job.JobSpec;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The training arguments the LoRA engine reads, taken from a parsed job under sd-scripts' names and defaults, with
 * the options Kiln cannot honour refused by name rather than silently ignored.
 *
 * @param seed                  {@code --seed} (drawn at random when unset, as sd-scripts does)
 * @param textEncoderLr         first value of {@code --text_encoder_lr} or null
 * @param warmupSteps           {@code --lr_warmup_steps} resolved against the total steps
 * @param maxTokenLength        75 unless {@code --max_token_length} is 150 or 225
 * @param savePrecision         {@code --save_precision} (null keeps float32)
 */
public record TrainingSettings(long seed, double learningRate, Double unetLr, Double textEncoderLr,
                               String optimizerType, List<String> optimizerArgs, String lrScheduler, long warmupSteps,
                               int numCycles, double power, double maxGradNorm, int clipSkip, int maxTokenLength,
                               boolean weightedCaptions, NoiseOptions noise, LossOptions loss, boolean zeroTerminalSnr,
                               LoraNetworkConfig network, String networkWeights, Double scaleWeightNorms,
                               SavePrecision savePrecision, int gradientAccumulationSteps, long totalSteps) {

    /**
     * Reads the settings of {@code job} for a run of {@code totalSteps} optimizer steps.
     *
     * @param vParameterization the model's prediction type (from the job or the model's scheduler config)
     * @throws IllegalArgumentException naming the argument that Kiln cannot honour or that is invalid
     */
    public static TrainingSettings from(JobSpec job, long totalSteps, boolean vParameterization) {
        refuse(job, "masked_loss", "masked loss (alpha masks) is not implemented");
        refuse(job, "alpha_mask", "alpha masks are not implemented");
        refuse(job, "full_fp16", "fp16 training needs differentiable casts, which DJL lacks; Kiln trains in float32");
        refuse(job, "full_bf16", "bf16 is unusable in DJL's PyTorch engine; Kiln trains in float32");
        String lrSchedulerType = job.stringArgument("lr_scheduler_type");
        if (lrSchedulerType != null && !lrSchedulerType.isEmpty()) {
            throw new IllegalArgumentException("lr_scheduler_type: custom schedulers are not supported; use lr_scheduler");
        }
        String module = (String) loraArgument(job, "network_module");
        if (module != null && !module.isEmpty() && !module.equals("networks.lora")) {
            throw new IllegalArgumentException("network_module '" + module + "' is not supported; Kiln trains networks.lora");
        }
        Long seedArg = (Long) job.argument("seed");
        long seed = seedArg != null ? seedArg : new java.security.SecureRandom().nextLong() & 0xFFFFFFFFL;
        @SuppressWarnings("unchecked")
        List<Double> teLr = (List<Double>) loraArgument(job, "text_encoder_lr");
        Object warmup = job.argument("lr_warmup_steps");
        long warmupSteps = dev.kiln.diffusion.train.schedule.LrSchedules.warmupSteps(
                warmup == null ? "0" : String.valueOf(warmup), totalSteps);
        int maxTokenLength = Math.toIntExact(job.intArgument("max_token_length", 75));
        NoiseOptions noise = new NoiseOptions(job.floatArgument("noise_offset", 0),
                job.flag("noise_offset_random_strength"), (Double) job.argument("adaptive_noise_scale"),
                Math.toIntExact(job.intArgument("multires_noise_iterations", 0)),
                job.floatArgument("multires_noise_discount", 0.3), job.floatArgument("ip_noise_gamma", 0),
                job.flag("ip_noise_gamma_random_strength"), Math.toIntExact(job.intArgument("min_timestep", 0)),
                Math.toIntExact(job.intArgument("max_timestep", 1000)));
        LossOptions loss = new LossOptions(job.stringArgument("loss_type"), job.stringArgument("huber_schedule"),
                job.floatArgument("huber_c", 0.1), job.floatArgument("huber_scale", 1.0),
                (Double) job.argument("min_snr_gamma"), job.flag("scale_v_pred_loss_like_noise_pred"),
                (Double) job.argument("v_pred_like_loss"), job.flag("debiased_estimation_loss"), vParameterization,
                // fine_tune.py has no prior_loss_weight (and no regularization images)
                job.arguments().containsKey("prior_loss_weight") ? job.floatArgument("prior_loss_weight", 1.0) : 1.0);
        Object dim = loraArgument(job, "network_dim");
        Object alpha = loraArgument(job, "network_alpha");
        Object dropout = loraArgument(job, "network_dropout");
        LoraNetworkConfig network = LoraNetworkConfig.fromArgs(dim == null ? null : Math.toIntExact((Long) dim),
                alpha == null ? null : ((Number) alpha).floatValue(),
                dropout == null ? null : ((Number) dropout).floatValue(), networkArgs(job),
                Boolean.TRUE.equals(loraArgument(job, "network_train_unet_only")),
                Boolean.TRUE.equals(loraArgument(job, "network_train_text_encoder_only")));
        @SuppressWarnings("unchecked")
        List<String> optimizerArgs = (List<String>) job.argument("optimizer_args");
        return new TrainingSettings(seed, job.floatArgument("learning_rate", 2e-6), (Double) loraArgument(job, "unet_lr"),
                teLr == null || teLr.isEmpty() ? null : teLr.get(0), job.stringArgument("optimizer_type"),
                optimizerArgs == null ? List.of() : optimizerArgs, job.stringArgument("lr_scheduler"), warmupSteps,
                Math.toIntExact(job.intArgument("lr_scheduler_num_cycles", 1)),
                job.floatArgument("lr_scheduler_power", 1.0), job.floatArgument("max_grad_norm", 1.0),
                Math.toIntExact(job.intArgument("clip_skip", 1)), maxTokenLength, job.flag("weighted_captions"),
                noise, loss, job.flag("zero_terminal_snr"), network, (String) loraArgument(job, "network_weights"),
                (Double) loraArgument(job, "scale_weight_norms"), SavePrecision.parse(job.stringArgument("save_precision")),
                job.trainingLength().gradientAccumulationSteps(), totalSteps);
    }

    /** These settings with another seed (a resumed run whose job sets none keeps the seed it started with). */
    public TrainingSettings withSeed(long newSeed) {
        return new TrainingSettings(newSeed, learningRate, unetLr, textEncoderLr, optimizerType, optimizerArgs,
                lrScheduler, warmupSteps, numCycles, power, maxGradNorm, clipSkip, maxTokenLength, weightedCaptions,
                noise, loss, zeroTerminalSnr, network, networkWeights, scaleWeightNorms, savePrecision,
                gradientAccumulationSteps, totalSteps);
    }

    /** These settings with {@code network_weights} replaced (e.g. resolved against the run's root folder). */
    public TrainingSettings withNetworkWeights(String path) {
        return new TrainingSettings(seed, learningRate, unetLr, textEncoderLr, optimizerType, optimizerArgs,
                lrScheduler, warmupSteps, numCycles, power, maxGradNorm, clipSkip, maxTokenLength, weightedCaptions,
                noise, loss, zeroTerminalSnr, network, path, scaleWeightNorms, savePrecision,
                gradientAccumulationSteps, totalSteps);
    }

    /** {@code --network_args k=v ...} as a map (values are strings, as sd-scripts keeps them). */
    public static Map<String, String> networkArgs(JobSpec job) {
        @SuppressWarnings("unchecked")
        List<String> raw = (List<String>) loraArgument(job, "network_args");
        Map<String, String> out = new LinkedHashMap<>();
        if (raw != null) {
            for (String kv : raw) {
                int eq = kv.indexOf('=');
                if (eq <= 0) {
                    throw new IllegalArgumentException("network_args: '" + kv + "' is not key=value");
                }
                out.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
            }
        }
        return out;
    }

    /** An argument only train_network.py has: null for the other methods (their jobs cannot set it). */
    private static Object loraArgument(JobSpec job, String name) {
        return job.arguments().containsKey(name) ? job.argument(name) : null;
    }

    private static void refuse(JobSpec job, String flag, String why) {
        if (job.arguments().containsKey(flag) && job.flag(flag)) {
            throw new IllegalArgumentException(flag + ": " + why);
        }
    }

    /** The mixed precision the user asked for, which Kiln reports but trains in float32 (DJL casts lack autograd). */
    public static String mixedPrecision(JobSpec job) {
        String mp = job.stringArgument("mixed_precision");
        return mp == null ? "no" : mp.toLowerCase(Locale.ROOT);
    }
}
