//! Pixel-space DDPMs on Tasks A-D (Sec. 3.2, App. D.1).
