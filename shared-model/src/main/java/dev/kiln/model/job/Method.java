package dev.kiln.model.job;

import java.util.Arrays;
import java.util.stream.Collectors;

/** What a job trains; each maps to one sd-scripts trainer and its argument set. */
public enum Method {
    /** train_network.py with networks.lora. */
    LORA("lora", "safetensors"),
    /** train_db.py. */
    DREAMBOOTH("dreambooth", null),
    /** fine_tune.py. */
    FINETUNE("finetune", null),
    /** train_textual_inversion.py. */
    TEXTUAL_INVERSION("textual_inversion", "pt");

    private final String tomlName;
    private final String defaultSaveModelAs;

    Method(String tomlName, String defaultSaveModelAs) {
        this.tomlName = tomlName;
        this.defaultSaveModelAs = defaultSaveModelAs;
    }

    /** The value of {@code method} in job.toml. */
    public String tomlName() {
        return tomlName;
    }

    /** The trainer's {@code --save_model_as} default (null: same format as the base model). */
    public String defaultSaveModelAs() {
        return defaultSaveModelAs;
    }

    /** The method named {@code name}, or null. */
    public static Method byName(String name) {
        return Arrays.stream(values()).filter(m -> m.tomlName.equals(name)).findFirst().orElse(null);
    }

    /** "lora | dreambooth | ..." for error messages. */
    public static String names() {
        return Arrays.stream(values()).map(Method::tomlName).collect(Collectors.joining(" | "));
    }
}
