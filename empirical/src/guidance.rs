//! Classifier-guided sampling (Sec. 5, App. G.1; Dhariwal & Nichol 2021). (Being written; issue 6.)
