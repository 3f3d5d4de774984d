package dev.kiln.diffusion.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;

/**
 * The scheduler settings shared by the training noise schedule and every sampler, named after diffusers'
 * {@code scheduler_config.json} keys.
 *
 * @param numTrainTimesteps   {@code num_train_timesteps}
 * @param betaStart           {@code beta_start}
 * @param betaEnd             {@code beta_end}
 * @param betaSchedule        {@code beta_schedule}: linear, scaled_linear or squaredcos_cap_v2
 * @param predictionType      {@code prediction_type}
 * @param rescaleBetasZeroSnr {@code rescale_betas_zero_snr} (kohya {@code --zero_terminal_snr})
 * @param timestepSpacing     {@code timestep_spacing}; {@code null} = each sampler's own diffusers default
 *                            (leading for DDIM, linspace for the others)
 * @param stepsOffset         {@code steps_offset}
 * @param setAlphaToOne       {@code set_alpha_to_one} (DDIM's alpha after the last step)
 * @param clipSample          {@code clip_sample} (DDIM clamps its x0 prediction)
 * @param clipSampleRange     {@code clip_sample_range}
 */
public record SchedulerConfig(int numTrainTimesteps, double betaStart, double betaEnd, String betaSchedule,
                              PredictionType predictionType, boolean rescaleBetasZeroSnr,
                              TimestepSpacing timestepSpacing, int stepsOffset, boolean setAlphaToOne,
                              boolean clipSample, double clipSampleRange) {

    static final Set<String> BETA_SCHEDULES = Set.of("linear", "scaled_linear", "squaredcos_cap_v2");

    public SchedulerConfig {
        if (numTrainTimesteps < 2) {
            throw new IllegalArgumentException("num_train_timesteps must be at least 2, got " + numTrainTimesteps);
        }
        if (!BETA_SCHEDULES.contains(betaSchedule)) {
            throw new IllegalArgumentException("unsupported beta_schedule '" + betaSchedule + "'; expected one of "
                    + BETA_SCHEDULES.stream().sorted().toList());
        }
        if (predictionType == null) {
            throw new IllegalArgumentException("prediction_type is required");
        }
    }

    /**
     * The schedule sd-scripts trains with and builds its sample schedulers from ({@code train_util.py}
     * {@code get_my_scheduler}): 1000 steps, scaled_linear 0.00085..0.012, every other value at the diffusers
     * class default, except that kohya switches {@code clip_sample} on where a scheduler has it.
     */
    public static SchedulerConfig kohya(boolean vParameterization) {
        return new SchedulerConfig(1000, 0.00085, 0.012, "scaled_linear",
                vParameterization ? PredictionType.V_PREDICTION : PredictionType.EPSILON,
                false, null, 0, true, true, 1.0);
    }

    /** Reads a diffusers {@code scheduler_config.json}; missing keys take the diffusers defaults. */
    public static SchedulerConfig read(Path file) {
        JsonNode json;
        try {
            json = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read scheduler config " + file, e);
        }
        try {
            return fromJson(json);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /** Parses the content of a diffusers {@code scheduler_config.json}; missing keys take the diffusers defaults. */
    public static SchedulerConfig fromJson(JsonNode json) {
        if (json == null || !json.isObject()) {
            throw new IllegalArgumentException("scheduler config must be a JSON object");
        }
        JsonNode trained = json.path("trained_betas");
        if (!trained.isMissingNode() && !trained.isNull()) {
            throw new IllegalArgumentException("trained_betas is not supported");
        }
        if (json.path("thresholding").asBoolean(false)) {
            throw new IllegalArgumentException("thresholding (dynamic thresholding) is not supported");
        }
        JsonNode spacing = json.path("timestep_spacing");
        return new SchedulerConfig(
                json.path("num_train_timesteps").asInt(1000),
                json.path("beta_start").asDouble(0.0001),
                json.path("beta_end").asDouble(0.02),
                json.path("beta_schedule").asText("linear").toLowerCase(Locale.ROOT),
                PredictionType.fromConfigName(json.path("prediction_type").asText("epsilon")),
                json.path("rescale_betas_zero_snr").asBoolean(false),
                spacing.isTextual() ? TimestepSpacing.fromConfigName(spacing.asText()) : null,
                json.path("steps_offset").asInt(0),
                json.path("set_alpha_to_one").asBoolean(true),
                json.path("clip_sample").asBoolean(true),
                json.path("clip_sample_range").asDouble(1.0));
    }

    /** This config with another prediction type (e.g. the model's, over a scheduler file's). */
    public SchedulerConfig withPredictionType(PredictionType type) {
        return new SchedulerConfig(numTrainTimesteps, betaStart, betaEnd, betaSchedule, type, rescaleBetasZeroSnr,
                timestepSpacing, stepsOffset, setAlphaToOne, clipSample, clipSampleRange);
    }

    /** This config with {@code rescale_betas_zero_snr} set (kohya {@code --zero_terminal_snr}). */
    public SchedulerConfig withRescaleBetasZeroSnr(boolean value) {
        return new SchedulerConfig(numTrainTimesteps, betaStart, betaEnd, betaSchedule, predictionType, value,
                timestepSpacing, stepsOffset, setAlphaToOne, clipSample, clipSampleRange);
    }

    /** The spacing to use: the configured one, else the given sampler default. */
    TimestepSpacing spacingOr(TimestepSpacing samplerDefault) {
        return timestepSpacing != null ? timestepSpacing : samplerDefault;
    }
}
