package dev.kiln.model.keys;

/** An object key that must not be used: it could escape a directory or is not a well-formed S3 key. */
public class UnsafeKeyException extends IllegalArgumentException {

    private final String key;
    private final String reason;

    public UnsafeKeyException(String key, String reason) {
        super("unsafe object key '" + printable(key) + "': " + reason);
        this.key = key;
        this.reason = reason;
    }

    /** The offending key, as received. */
    public String key() {
        return key;
    }

    /** Why the key is unsafe, e.g. {@code "'..' segment"}. */
    public String reason() {
        return reason;
    }

    /** The key with control characters shown as {@code \\uXXXX}, so messages stay on one readable line. */
    static String printable(String key) {
        if (key == null) {
            return "null";
        }
        StringBuilder out = new StringBuilder(key.length());
        key.codePoints().forEach(cp -> {
            if (Character.isISOControl(cp)) {
                out.append(String.format("\\u%04X", cp));
            } else {
                out.appendCodePoint(cp);
            }
        });
        return out.toString();
    }
}
