package dev.kiln.sampler.model;

import dev.kiln.diffusion.model.LoadOptions;
import dev.kiln.sampler.SamplerConfig;
import dev.kiln.sampler.request.SampleRequestException;
import dev.kiln.service.storage.S3Storage;
import dev.kiln.worker.model.BaseModelCache;
import dev.kiln.worker.model.ModelLoadException;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.nio.file.Path;

/**
 * The sampler's base models: the shared {@link BaseModelCache} under {@code kiln.sampler.work-dir}, keeping
 * {@code kiln.sampler.cached-models} loaded; a model that is missing or does not load is a
 * {@link SampleRequestException} naming the key.
 */
@Singleton
public class BaseModels extends BaseModelCache {

    @Inject
    public BaseModels(S3Storage storage, SamplerConfig config) {
        super(storage, Path.of(config.workDir()), config.cachedModels());
    }

    @Override
    public Loaded get(String key, LoadOptions options) {
        try {
            return super.get(key, options);
        } catch (ModelLoadException e) {
            throw new SampleRequestException(e.getMessage(), e);
        }
    }

    @PreDestroy
    void unload() {
        close();
    }
}
