package dev.kiln.captioning.tagging;

import dev.kiln.captioning.CaptioningConfig;
import dev.kiln.model.dataset.ConfigException;
import dev.kiln.model.job.CaptioningSettings;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.Optional;
import org.tomlj.Toml;
import org.tomlj.TomlParseResult;

/**
 * The service-level tagger ({@code kiln.captioning.tagger.model} and {@code .options}), read with the same rules
 * as a job's {@code [captioning]} table. Invalid settings stop the service at start-up, naming the property and key.
 */
@ApplicationScoped
public class DefaultTagging {
    private final Optional<CaptioningSettings> settings;

    @Inject
    public DefaultTagging(CaptioningConfig config) {
        this.settings = parse(config.tagger().model(), config.tagger().options());
    }

    void checkOnStart(@Observes StartupEvent event) {
        // constructing the bean validates; this only makes it happen at start-up rather than on first use
        settings.isPresent();
    }

    /** The default tagger's settings, empty when images are not tagged unless a job asks. */
    public Optional<CaptioningSettings> settings() {
        return settings;
    }

    static Optional<CaptioningSettings> parse(Optional<String> model, Optional<String> options) {
        if (model.isEmpty() || model.get().isBlank()) {
            if (options.isPresent() && !options.get().isBlank()) {
                throw new IllegalStateException("kiln.captioning.tagger.options is set but kiln.captioning.tagger.model"
                        + " (KILN_CAPTIONING_TAGGER_MODEL) is not: name the tagger's .onnx object key");
            }
            return Optional.empty();
        }
        String key = model.get().strip();
        String table = "captioning = { caption_model = \"" + key.replace("\\", "\\\\").replace("\"", "\\\"") + "\""
                + options.filter(o -> !o.isBlank()).map(o -> ", " + o.strip()).orElse("") + " }";
        TomlParseResult toml = Toml.parse(table);
        if (toml.hasErrors()) {
            throw new IllegalStateException("kiln.captioning.tagger.options is not the inside of a one-line TOML inline"
                    + " table (e.g. general_threshold = 0.5, remove_underscore = true): "
                    + toml.errors().get(0).getMessage());
        }
        try {
            return Optional.of(CaptioningSettings.parse(toml.get("captioning")));
        } catch (ConfigException e) {
            String property = "caption_model".equals(e.key()) ? "kiln.captioning.tagger.model"
                    : "kiln.captioning.tagger.options";
            throw new IllegalStateException(property + ": " + e.getMessage(), e);
        }
    }
}
