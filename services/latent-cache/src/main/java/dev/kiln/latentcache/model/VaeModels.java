package dev.kiln.latentcache.model;

import dev.kiln.diffusion.model.LoadOptions;
import dev.kiln.diffusion.train.latent.LatentEncoder;
import dev.kiln.diffusion.train.latent.WeightsFingerprint;
import dev.kiln.latentcache.LatentCacheConfig;
import dev.kiln.service.storage.S3Storage;
import dev.kiln.worker.model.BaseModelCache;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The VAE of a job's base model: the model from the shared {@link BaseModelCache} (loaded once per key + objects'
 * ETags + load options) and its weights fingerprint, the {@code <vae-sha>} folder of {@code cache/latents/}, computed
 * once per model.
 */
@ApplicationScoped
public class VaeModels {

    private final BaseModelCache models;
    private final Map<String, String> shaByFingerprint = new ConcurrentHashMap<>();

    /** A loaded VAE and its fingerprint. */
    public record Vae(String modelKey, String sha256, LatentEncoder encoder) {
    }

    @Inject
    public VaeModels(S3Storage storage, LatentCacheConfig config) {
        this.models = new BaseModelCache(storage, config.workDir(), config.cachedModels());
    }

    /**
     * @throws dev.kiln.worker.model.ModelLoadException naming the key when the model is missing or does not load
     */
    public Vae get(String modelKey, LoadOptions options) {
        BaseModelCache.Loaded loaded = models.get(modelKey, options);
        String sha = shaByFingerprint.computeIfAbsent(loaded.fingerprint(),
                f -> WeightsFingerprint.sha256(loaded.model().vaeWeights()));
        return new Vae(modelKey, sha, new LatentEncoder(loaded.model().vae()));
    }

    /** How a job's model is loaded: its {@code v2} / {@code v_parameterization} when given, else inferred. */
    public static LoadOptions options(Boolean v2, Boolean vParameterization) {
        LoadOptions load = LoadOptions.defaults();
        if (v2 != null) {
            load = load.withV2(v2);
        }
        if (vParameterization != null) {
            load = load.withVParameterization(vParameterization);
        }
        return load;
    }

    @PreDestroy
    void close() {
        models.close();
    }
}
