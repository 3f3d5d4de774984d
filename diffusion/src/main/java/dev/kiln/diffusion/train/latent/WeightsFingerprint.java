package dev.kiln.diffusion.train.latent;

import ai.djl.ndarray.NDArray;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * SHA-256 over a weight map (names, shapes and float32 values in name order): the identity of a VAE for the latent
 * cache, independent of the file format (single file or diffusers folder, fp16 or fp32 storage of the same values).
 */
public final class WeightsFingerprint {

    private WeightsFingerprint() {
    }

    public static String sha256(Map<String, NDArray> weights) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            for (Map.Entry<String, NDArray> e : new TreeMap<>(weights).entrySet()) {
                digest.update(e.getKey().getBytes(StandardCharsets.UTF_8));
                digest.update(e.getValue().getShape().toString().getBytes(StandardCharsets.UTF_8));
                float[] values = e.getValue().toFloatArray();
                ByteBuffer bytes = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                bytes.asFloatBuffer().put(values);
                digest.update(bytes);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
