package dev.kiln.cli.generate;

import java.nio.file.Path;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * One {@code --lora FILE[:MULTIPLIER]} argument: a kohya LoRA file and the multiplier it is applied at (default 1.0,
 * as sd-scripts' {@code --network_mul}).
 */
public record LoraSpec(Path file, float multiplier) {

    public static final float DEFAULT_MULTIPLIER = 1.0f;

    /**
     * Parses {@code FILE[:MULTIPLIER]}. The multiplier follows the last colon, so paths that contain colons still
     * work when a multiplier is given; a last part that looks like a file name (has a dot followed by letters, or
     * a path separator) is taken as part of the path.
     */
    public static LoraSpec parse(String spec) {
        int colon = spec.lastIndexOf(':');
        String file = spec;
        float multiplier = DEFAULT_MULTIPLIER;
        if (colon >= 0) {
            String tail = spec.substring(colon + 1);
            if (!looksLikePath(tail)) {
                file = spec.substring(0, colon);
                multiplier = parseMultiplier(spec, tail);
            }
        }
        if (file.isBlank()) {
            throw new IllegalArgumentException("'" + spec + "' names no LoRA file (expected FILE[:MULTIPLIER])");
        }
        return new LoraSpec(Path.of(file), multiplier);
    }

    private static boolean looksLikePath(String tail) {
        return tail.contains("/") || tail.contains("\\") || tail.matches(".*\\.[A-Za-z]\\w*");
    }

    private static float parseMultiplier(String spec, String text) {
        float value;
        try {
            value = Float.parseFloat(text.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + spec + "': multiplier '" + text
                    + "' is not a number (expected FILE[:MULTIPLIER], e.g. my-lora.safetensors:0.8)");
        }
        if (!Float.isFinite(value)) {
            throw new IllegalArgumentException("'" + spec + "': multiplier must be a finite number, got " + text);
        }
        return value;
    }

    /** picocli conversion: a bad spec becomes a usage error (exit status 2) naming the option. */
    public static final class Converter implements ITypeConverter<LoraSpec> {
        @Override
        public LoraSpec convert(String value) {
            try {
                return parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }
}
