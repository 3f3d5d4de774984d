package dev.kiln.model.keys;

import java.math.BigInteger;
import java.util.Optional;

/**
 * A kohya subset folder name {@code <N>_<class tokens>} read the way sd-scripts reads it
 * ({@code config_util.generate_dreambooth_subsets_config_by_subdirs}): split at the first {@code _}, the
 * first piece is the repeat count (Python {@code int()}), the rest is {@code class_tokens}, e.g.
 * {@code 10_sks cat} -> 10, {@code "sks cat"}; {@code 5_a_b} -> 5, {@code "a_b"}; {@code 3} -> 3, {@code ""}.
 *
 * <p>{@code identifier} and {@code className} are a convenience for the DreamBooth convention
 * {@code <identifier> <class>}: the tokens split at the first space ({@code "sks cat"} -> {@code sks} +
 * {@code cat}); with no space the whole string is the class and the identifier is null. Training uses
 * {@code classTokens} only, as sd-scripts does.
 *
 * @param folder      the folder name as found in the key
 * @param repeats     {@code num_repeats}, at least 1
 * @param classTokens the {@code class_tokens} (may be empty)
 * @param identifier  tokens before the first space, or null
 * @param className   tokens after the first space, or all tokens when there is no space
 * @param isReg       true for folders under {@code reg/} (regularization images)
 */
public record SubsetFolder(String folder, int repeats, String classTokens, String identifier, String className,
                           boolean isReg) {

    /**
     * Parses a folder name.
     *
     * @return the folder, or empty when the name has no integer repeat count of at least 1; {@link #problem}
     *         says why
     */
    public static Optional<SubsetFolder> parse(String folder, boolean isReg) {
        if (problem(folder) != null) {
            return Optional.empty();
        }
        int underscore = folder.indexOf('_');
        String count = underscore < 0 ? folder : folder.substring(0, underscore);
        String tokens = underscore < 0 ? "" : folder.substring(underscore + 1);
        int repeats = pythonInt(count).intValueExact();
        int space = tokens.indexOf(' ');
        String identifier = space < 0 ? null : tokens.substring(0, space);
        String className = space < 0 ? tokens : tokens.substring(space + 1);
        return Optional.of(new SubsetFolder(folder, repeats, tokens, identifier, className, isReg));
    }

    /** Why {@code folder} is not a subset folder name, or null when it is one. */
    public static String problem(String folder) {
        int underscore = folder.indexOf('_');
        String count = underscore < 0 ? folder : folder.substring(0, underscore);
        BigInteger repeats = pythonInt(count);
        if (repeats == null) {
            return "folder '" + folder + "' does not start with a repeat count: expected <N>_<class tokens>, e.g. '10_sks cat'";
        }
        if (repeats.signum() <= 0) {
            return "folder '" + folder + "' has " + repeats + " repeats: it must be at least 1 (sd-scripts skips it)";
        }
        if (repeats.bitLength() > 31) {
            return "folder '" + folder + "' has a repeat count too large: " + repeats;
        }
        return null;
    }

    /** Python {@code int(str)} for decimal strings: surrounding whitespace, optional sign, Unicode digits. */
    private static BigInteger pythonInt(String text) {
        String s = text.strip();
        int start = !s.isEmpty() && (s.charAt(0) == '+' || s.charAt(0) == '-') ? 1 : 0;
        if (s.length() == start) {
            return null;
        }
        StringBuilder digits = new StringBuilder();
        for (int i = start; i < s.length(); i++) {
            int d = Character.digit(s.charAt(i), 10);
            if (d < 0) {
                return null;
            }
            digits.append((char) ('0' + d));
        }
        BigInteger value = new BigInteger(digits.toString());
        return s.charAt(0) == '-' ? value.negate() : value;
    }
}
