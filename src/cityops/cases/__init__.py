"""Cases: the closed loop from intake to rating (闭环处置) — lifecycle, joint handling and summons."""
