package dev.kiln.diffusion.train.save;

import dev.kiln.model.job.JobSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The {@code modelspec.*} keys (ModelSpec 1.0.1) sd-scripts adds to every saved LoRA, Textual Inversion embedding
 * and Stable Diffusion checkpoint (train_util.get_sai_model_spec and library/sai_model_spec.py build_metadata, SD 1.x
 * / 2.x cases).
 */
public final class ModelSpec {
    /** What sd-scripts writes when it cannot read its own git commit; Kiln has no sd-scripts commit to name. */
    static final String IMPLEMENTATION_VERSION = "sd-scripts/unknown";

    /**
     * The metadata_* arguments that become extra modelspec keys, in the order sd-scripts finds them (dir(args) is
     * sorted); title, author, description, license and tags are regular fields.
     */
    private static final List<String> OPTIONAL_FIELDS = List.of("is_negative_embedding", "merged_from",
            "preprocessor", "thumbnail", "trigger_phrase", "usage_hint");

    private ModelSpec() {}

    /**
     * The keys for a LoRA of {@code job} saved at {@code timestamp} (Unix seconds; the date is in {@code zone}).
     * The title is metadata_title, else output_name, else {@code LoRA@<timestamp>}; the resolution the training
     * argument {@code resolution} (not the dataset config's), else 768x768 for v2 with v-parameterization, else
     * 512x512. A metadata_thumbnail that is not a data URL is read as a local file (left out when missing).
     */
    public static Map<String, String> forLora(JobSpec job, double timestamp, ZoneId zone) {
        return of(job, timestamp, zone, "/lora", "diffusers", "LoRA", job.stringArgument("output_name"));
    }

    /**
     * The keys of a Textual Inversion embedding ({@code <arch>/textual-inversion}, Stability AI's implementation; the
     * title falls back to output_name, which train_textual_inversion.py sets to the token string).
     */
    public static Map<String, String> forTextualInversion(JobSpec job, double timestamp, ZoneId zone) {
        String outputName = job.stringArgument("output_name");
        return of(job, timestamp, zone, "/textual-inversion", STABILITY, "TextualInversion",
                outputName != null ? outputName : job.stringArgument("token_string"));
    }

    /** The keys of a full Stable Diffusion checkpoint (DreamBooth, fine-tuning): no adapter suffix, title Checkpoint@. */
    public static Map<String, String> forCheckpoint(JobSpec job, double timestamp, ZoneId zone) {
        return of(job, timestamp, zone, "", STABILITY, "Checkpoint", job.stringArgument("output_name"));
    }

    private static final String STABILITY = "https://github.com/Stability-AI/generative-models";

    private static Map<String, String> of(JobSpec job, double timestamp, ZoneId zone, String adapter,
                                          String implementation, String titlePrefix, String outputName) {
        boolean v2 = job.flag("v2");
        boolean vParam = job.flag("v_parameterization");
        Map<String, String> m = new LinkedHashMap<>();
        m.put("modelspec.architecture", (v2 ? (vParam ? "stable-diffusion-v2-768-v" : "stable-diffusion-v2-512")
                : "stable-diffusion-v1") + adapter);
        m.put("modelspec.implementation", implementation);
        String title = job.stringArgument("metadata_title");
        if (title == null) {
            title = outputName;
        }
        m.put("modelspec.title", title != null ? title : titlePrefix + "@" + PyStr.floatRepr(timestamp));
        int[] reso = (int[]) job.argument("resolution");
        if (reso == null) {
            reso = v2 && vParam ? new int[] {768, 768} : new int[] {512, 512};
        }
        m.put("modelspec.resolution", reso[0] + "x" + reso[1]);
        m.put("modelspec.sai_model_spec", "1.0.1");
        putIfSet(m, "modelspec.description", job.stringArgument("metadata_description"));
        putIfSet(m, "modelspec.author", job.stringArgument("metadata_author"));
        // datetime.fromtimestamp(int(ts)).isoformat(): local time, whole seconds, no offset
        LocalDateTime date = LocalDateTime.ofInstant(Instant.ofEpochSecond((long) timestamp), zone);
        m.put("modelspec.date", date.format(DateTimeFormatter.ISO_LOCAL_DATE_TIME));
        putIfSet(m, "modelspec.license", job.stringArgument("metadata_license"));
        putIfSet(m, "modelspec.tags", job.stringArgument("metadata_tags"));
        m.put("modelspec.prediction_type", vParam ? "v" : "epsilon");
        Object minT = job.argument("min_timestep");
        Object maxT = job.argument("max_timestep");
        if (minT != null || maxT != null) {
            m.put("modelspec.timestep_range", (minT != null ? minT : 0L) + "," + (maxT != null ? maxT : 1000L));
        }
        Object clipSkip = job.argument("clip_skip");
        if (clipSkip != null) {
            m.put("modelspec.encoder_layer", PyStr.str(clipSkip));
        }
        for (String field : OPTIONAL_FIELDS) {
            String value = job.stringArgument("metadata_" + field);
            if (value == null) {
                continue;
            }
            if (field.equals("thumbnail") && !value.startsWith("data:")) {
                value = dataUrl(Path.of(value));
                if (value == null) {
                    continue;
                }
            }
            m.put("modelspec." + field, value);
        }
        m.put("modelspec.implementation_version", IMPLEMENTATION_VERSION);
        return m;
    }

    private static void putIfSet(Map<String, String> m, String key, String value) {
        if (value != null) {
            m.put(key, value);
        }
    }

    /** sai_model_spec.file_to_data_url, with Python's mimetypes for image extensions; null when the file is missing. */
    static String dataUrl(Path file) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        String ext = name.contains(".") ? name.substring(name.lastIndexOf('.')) : "";
        String mime = switch (ext) {
            case ".png" -> "image/png";
            case ".jpg", ".jpeg", ".jpe" -> "image/jpeg";
            case ".webp" -> "image/webp";
            case ".gif" -> "image/gif";
            case ".bmp" -> "image/bmp";
            default -> "application/octet-stream";
        };
        try {
            return "data:" + mime + ";base64," + Base64.getEncoder().encodeToString(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new UncheckedIOException("metadata_thumbnail " + file + ": " + e.getMessage(), e);
        }
    }
}
