package dev.kiln.diffusion.scheduler;

import java.util.Arrays;
import java.util.Locale;

/** What the denoising model predicts, spelled as diffusers' {@code prediction_type}. */
public enum PredictionType {
    /** The added noise (SD 1.x, SD 2.x base). */
    EPSILON("epsilon"),
    /** The velocity {@code sqrt(a)*noise - sqrt(1-a)*x0} (SD 2.x 768-v, kohya {@code --v_parameterization}). */
    V_PREDICTION("v_prediction"),
    /** The clean sample itself. */
    SAMPLE("sample");

    private final String configName;

    PredictionType(String configName) {
        this.configName = configName;
    }

    /** The name used in {@code scheduler_config.json}. */
    public String configName() {
        return configName;
    }

    /** Parses a {@code prediction_type} value; unknown values are rejected with the accepted list. */
    public static PredictionType fromConfigName(String name) {
        String wanted = name.trim().toLowerCase(Locale.ROOT);
        for (PredictionType p : values()) {
            if (p.configName.equals(wanted)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown prediction_type '" + name + "'; expected one of "
                + Arrays.stream(values()).map(PredictionType::configName).toList());
    }
}
