"""The Jupyter Server extension: configuration and wiring (`extension`), thin REST handlers
(`handlers`) and the OpenAPI document they answer to (`openapi`)."""
