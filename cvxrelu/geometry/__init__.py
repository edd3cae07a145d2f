"""The data's geometry: sign patterns (arrangements), cells, image patches, and the dual oracle ω(Z) = max_{‖u‖≤1} ‖Zᵀ(Xu)_+‖ with its certified bound."""
